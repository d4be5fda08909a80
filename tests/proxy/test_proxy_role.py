"""The proxy role as the Procfile runs it (granian, proxy.asgi), over real sockets on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection

from analytics import buffer
from botpresto.bots.models import Bot
from botpresto.devtools.procfile import ROOT, role_command
from tests.conftest import Party
from tests.factories import bot_make
from tests.proxy.conftest import UPDATE
from tests.proxy.endpoints import Endpoint, closed_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.05)


@pytest.fixture
def role(tmp_path: Any) -> Iterator[dict[str, Any]]:
    """The proxy role on a free port, sharing this test's PostgreSQL database."""
    if connection.vendor != "postgresql":
        pytest.skip("the proxy process shares the test database only with PostgreSQL")
    db = connection.settings_dict
    login = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    port = closed_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": f"postgres://{login}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "ALLOW_PRIVATE_UPSTREAMS": "true",
        "PROXY_PORT": str(port),
        "PROXY_WORKERS": "1",
        "PROXY_BODY_TIMEOUT": "3",
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "proxy.log").open("wb")
    process = subprocess.Popen(
        [*role_command("proxy", env), "--host", "127.0.0.1"], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    try:
        wait_port(port)
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "process": process}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def bot(owner: Party, endpoint: Endpoint) -> Bot:
    return bot_make(owner.tenant, upstream_url=endpoint.url, notices_enabled=False)


def post(role: dict[str, Any], bot: Bot, body: bytes = UPDATE, timeout: float = 10) -> requests.Response:
    return requests.post(
        f"{role['url']}/proxy/bot/{bot.uuid}",
        data=body,
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": str(bot.proxy_secret)},
        timeout=timeout,
    )


def test_it_forwards_and_relays_through_the_proxy_role(role: dict[str, Any], bot: Bot, endpoint: Endpoint) -> None:
    response = post(role, bot)
    assert response.status_code == 200
    assert [r.body for r in endpoint.received] == [UPDATE]


def test_it_the_after_response_work_runs_once_the_answer_is_out(
    role: dict[str, Any], bot: Bot, endpoint: Endpoint
) -> None:
    buffer._client = None
    before = buffer.buffer_length()
    assert post(role, bot).status_code == 200
    deadline = time.monotonic() + 5
    while buffer.buffer_length() == before:
        assert time.monotonic() < deadline, "no analytics record was written after the answer"
        time.sleep(0.05)


def test_it_a_body_cut_short_is_never_forwarded(role: dict[str, Any], bot: Bot, endpoint: Endpoint) -> None:
    head = (
        f"POST /proxy/bot/{bot.uuid} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {bot.proxy_secret}\r\nContent-Length: {len(UPDATE)}\r\n\r\n"
    ).encode()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", role["port"])) as sock:
            sock.sendall(head + UPDATE[:50])
    assert post(role, bot).status_code == 200  # the service is fine, and saw the whole ones only
    assert [r.body for r in endpoint.received] == [UPDATE]


def test_it_slow_clients_do_not_stop_the_updates_of_others(role: dict[str, Any], bot: Bot, endpoint: Endpoint) -> None:
    sockets = []
    try:
        for n in range(800):  # 400 send their headers slowly, 400 their bodies
            sock = socket.create_connection(("127.0.0.1", role["port"]))
            if n % 2:
                sock.sendall(b"POST /proxy/bot/x HTTP/1.1\r\nHost: x\r\n")
            else:
                sock.sendall(
                    f"POST /proxy/bot/{bot.uuid} HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n{{".encode()
                )
            sockets.append(sock)
        started = time.monotonic()
        answers = [post(role, bot, timeout=5).status_code for _ in range(5)]
        elapsed = time.monotonic() - started
    finally:
        for sock in sockets:
            sock.close()
    assert answers == [200] * 5
    assert elapsed < 2.5
    assert len(endpoint.received) == 5


def test_it_a_slow_body_is_refused_after_its_timeout(role: dict[str, Any], bot: Bot, endpoint: Endpoint) -> None:
    with socket.create_connection(("127.0.0.1", role["port"])) as sock:
        sock.settimeout(10)
        sock.sendall(f"POST /proxy/bot/{bot.uuid} HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n{{".encode())
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 408")
    assert endpoint.received == []


def test_it_a_reload_pauses_nothing(role: dict[str, Any], bot: Bot, endpoint: Endpoint) -> None:
    results: list[tuple[float, int]] = []
    stop = threading.Event()

    def load() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = session.post(
                        f"{role['url']}/proxy/bot/{bot.uuid}",
                        data=UPDATE,
                        headers={"X-Telegram-Bot-Api-Secret-Token": str(bot.proxy_secret)},
                        timeout=10,
                    ).status_code
                except requests.ConnectionError:
                    status = 0
                results.append((time.monotonic() - started, status))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    role["process"].send_signal(signal.SIGHUP)  # a reload, as a deploy does it
    time.sleep(8)  # the new worker takes over, the old one drains and stops
    stop.set()
    for thread in threads:
        thread.join()
    failed = [status for _, status in results if status != 200]
    slowest = max(seconds for seconds, _ in results)
    assert len(failed) <= 4  # a kept-alive connection closed by the old worker, retried by Telegram
    assert slowest < 1.0, f"an update waited {slowest:.2f} s during the reload"
    assert len(results) > 100
    assert settings.PROXY_RETRY_AFTER  # non-2xx answers carry it, so Telegram retries
