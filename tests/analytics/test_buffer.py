from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from analytics import buffer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_buffer() -> Iterator[None]:
    buffer._client = None
    buffer.buffer_clear()
    buffer._lost_unreported = 0
    yield
    buffer.buffer_clear()
    buffer._client = None


def test_it_gives_records_back_oldest_first() -> None:
    for n in range(5):
        assert buffer.record_push({"n": n})
    assert [r["n"] for r in buffer.records_pop(3)] == [0, 1, 2]
    assert [r["n"] for r in buffer.records_pop(10)] == [3, 4]
    assert buffer.records_pop(10) == []


def test_it_counts_the_backlog() -> None:
    for n in range(3):
        buffer.record_push({"n": n})
    assert buffer.buffer_length() == 3


def test_it_keeps_a_bots_records_together_in_push_order() -> None:
    bot = "9b2d8c4e-1f6a-4c55-9a55-2f0b7f6d1e01"
    buffer.records_push([{"bot": bot, "n": n} for n in range(20)])
    assert len({buffer.shard_of({"bot": bot, "n": n}) for n in range(20)}) == 1
    assert [r["n"] for r in buffer.records_pop(100)] == list(range(20))


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_it_a_dead_redis_loses_the_record_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    buffer._client = None
    assert buffer.record_push({"n": 1}) is False
    assert buffer.records_push([{"n": 2}, {"n": 3}]) is False
    assert buffer.lost_count() == 3
    assert "buffer_unavailable" in caplog.text


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_it_shows_staff_the_records_lost_while_redis_was_down(admin_client: Client) -> None:
    buffer._client = None
    buffer.records_push([{"n": n} for n in range(7)])
    buffer.losses_flush()
    page = admin_client.get("/admin/analytics/pipelinecounter/").content.decode()
    assert "Records lost because the buffer was down" in page
    assert "records_lost" in page
    assert buffer._lost_unreported == 0  # counted in the database: a restart of Redis or of the proxy keeps it
    assert buffer.lost_count() == 7


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_it_keeps_the_losses_in_the_process_while_the_database_cannot_take_them(monkeypatch) -> None:
    from analytics import services

    def database_away(**kwargs: object) -> None:
        raise RuntimeError("database away")

    buffer._client = None
    monkeypatch.setattr(services, "counter_add", database_away)
    buffer.records_push([{"n": n} for n in range(4)])
    buffer.losses_flush()
    assert buffer._lost_unreported == 4
    monkeypatch.undo()
    buffer.losses_flush()
    assert (buffer._lost_unreported, buffer.lost_count()) == (0, 4)


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_it_a_record_pushed_from_a_requests_thread_leaves_its_loss_to_the_recorder(
    django_assert_num_queries: Any,
) -> None:
    buffer._client = None
    buffer._last_loss_report = 0.0  # not just reported: only the thread it runs on holds it back
    with django_assert_num_queries(0):  # a request never waits on the database, even with Redis down
        assert buffer.record_push({"n": 1}) is False
    assert (buffer._lost_unreported, buffer.lost_count()) == (1, 1)  # counted, kept for the recorder to report
    buffer.losses_flush()
    assert (buffer._lost_unreported, buffer.lost_count()) == (0, 1)
