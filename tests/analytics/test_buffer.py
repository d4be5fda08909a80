from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from analytics import buffer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_buffer() -> Iterator[None]:
    buffer._client = None
    if buffer.redis_client() is not None:
        buffer.redis_client().delete(buffer.KEY, buffer.LOST_KEY)  # type: ignore[union-attr]
    buffer._lost_unreported = 0
    yield
    buffer._client = None


def test_it_gives_records_back_oldest_first() -> None:
    for n in range(5):
        assert buffer.record_push({"n": n})
    assert [r["n"] for r in buffer.records_pop(3)] == [0, 1, 2]
    assert [r["n"] for r in buffer.records_pop(10)] == [3, 4]
    assert buffer.records_pop(10) == []


def test_returned_records_are_not_lost() -> None:
    for n in range(4):
        buffer.record_push({"n": n})
    batch = buffer.records_pop(2)
    buffer.records_return(batch)
    assert sorted(r["n"] for r in buffer.records_pop(10)) == [0, 1, 2, 3]


def test_it_counts_the_backlog() -> None:
    for n in range(3):
        buffer.record_push({"n": n})
    assert buffer.buffer_length() == 3


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_a_dead_redis_loses_the_record_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    buffer._client = None
    assert buffer.record_push({"n": 1}) is False
    assert buffer.record_push({"n": 2}) is False
    assert buffer.lost_count() == 2
    assert "buffer_unavailable" in caplog.text
