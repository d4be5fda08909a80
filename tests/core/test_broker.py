"""The embedded broker (botpresto.core.broker): no half-written message is ever read, none is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

TRANSPORT = "botpresto.core.broker:Transport"


def connect(root: Path, transport: str = TRANSPORT) -> Connection:
    options = {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "control_folder": str(root / "control"),
        "polling_interval": 0.01,
    }
    for folder in ("queue", "control"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return Connection("filesystem://", transport=transport, transport_options=options)


def test_it_delivers_a_message(tmp_path: Path) -> None:
    with connect(tmp_path) as conn:
        queue = conn.SimpleQueue("celery")
        queue.put({"task": "x"})
        assert queue.get(timeout=1).payload == {"task": "x"}


def test_it_never_lets_a_consumer_see_a_message_being_written(tmp_path: Path, monkeypatch: Any) -> None:
    # kombu's own transport creates the file in the queue folder and writes into it afterwards:
    # a worker polling in between died of JSONDecodeError. Freeze a writer mid-write and look.
    from botpresto.core import broker

    seen: list[list[str]] = []
    real_open = open

    def watching_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        file = real_open(path, mode, *args, **kwargs)
        if "w" in mode:
            seen.append(sorted(p.name for p in (tmp_path / "queue").iterdir()))
        return file

    monkeypatch.setattr(broker, "open", watching_open, raising=False)
    with connect(tmp_path) as conn:
        conn.SimpleQueue("celery").put({"n": 1})
    assert seen
    assert all(listing == [] for listing in seen)


def test_it_sets_an_unreadable_message_aside_and_goes_on(tmp_path: Path) -> None:
    with connect(tmp_path) as conn:
        queue = conn.SimpleQueue("celery")
        (tmp_path / "queue" / "000000000000000_bad.celery.msg").write_bytes(b"")  # as a crash mid-write leaves it
        queue.put({"n": 2})
        assert queue.get(timeout=1).payload == {"n": 2}
    assert [p.name for p in (tmp_path / "unreadable").iterdir()] == ["000000000000000_bad.celery.msg"]


def test_it_keeps_the_order_messages_were_sent_in(tmp_path: Path) -> None:
    with connect(tmp_path) as conn:
        queue = conn.SimpleQueue("celery")
        for n in range(20):
            queue.put({"n": n})
        assert [queue.get(timeout=1).payload["n"] for _ in range(20)] == list(range(20))


def test_it_delivers_every_message_exactly_once_to_competing_consumers(tmp_path: Path) -> None:
    sent = 600
    received: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def produce(offset: int) -> None:
        with connect(tmp_path) as conn:
            queue = conn.SimpleQueue("celery")
            for n in range(offset, sent, 2):
                queue.put({"n": n})

    def consume() -> None:
        try:
            with connect(tmp_path) as conn:
                queue = conn.SimpleQueue("celery")
                deadline = time.monotonic() + 30
                while len(received) < sent and time.monotonic() < deadline:
                    try:
                        message = queue.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    message.ack()
                    with lock:
                        received.append(message.payload["n"])
        except BaseException as exc:  # a crash here is what the test is about
            errors.append(exc)

    with connect(tmp_path) as conn:
        conn.SimpleQueue("celery")  # declared once, as the worker does at start
    consumers = [threading.Thread(target=consume) for _ in range(2)]
    producers = [threading.Thread(target=produce, args=(offset,)) for offset in range(2)]
    for thread in consumers + producers:
        thread.start()
    for thread in producers:
        thread.join()
    for thread in consumers:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(received) == list(range(sent))


def test_it_the_embedded_default_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.core.test_settings import load

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    values = load(monkeypatch, DEBUG="true")
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    connection = Connection(
        "filesystem://",
        transport=values["CELERY_BROKER_TRANSPORT"],
        transport_options=values["CELERY_BROKER_TRANSPORT_OPTIONS"],
    )
    assert type(connection.transport).__module__ == "botpresto.core.broker"
