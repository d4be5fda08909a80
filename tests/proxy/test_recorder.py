from __future__ import annotations

from typing import Any

import pytest

from analytics import buffer
from proxy.recorder import Recorder
from tests.proxy.endpoints import closed_port

pytestmark = pytest.mark.django_db


def test_it_records_gathered_are_written_in_order_in_one_go() -> None:
    recorder = Recorder()
    for n in range(5):
        recorder.put({"n": n})  # no thread started: they wait for a flush
    recorder.flush()
    assert [r["n"] for r in buffer.records_pop(10)] == [0, 1, 2, 3, 4]


@pytest.mark.django_db(transaction=True)
def test_it_the_thread_writes_them_without_being_asked() -> None:
    import time

    recorder = Recorder()
    recorder.start()
    recorder.put({"n": 1})
    deadline = time.monotonic() + 2
    while buffer.buffer_length() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["n"] for r in buffer.records_pop(10)] == [1]


def test_it_a_batch_lost_to_a_dead_buffer_is_counted_record_by_record(settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    buffer._client = None
    lost = buffer.lost_count()
    recorder = Recorder()
    for n in range(3):
        recorder.put({"n": n})
    recorder.flush()
    assert buffer.lost_count() == lost + 3
