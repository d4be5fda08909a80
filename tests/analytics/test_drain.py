"""The drain is at least once and idempotent: a record is counted once however often it is delivered.

The stream tests need Redis (REDIS_URL), the parallel one PostgreSQL as well; they are skipped without.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.db.models import Sum

from analytics import buffer, services
from analytics.models import BotHourlyStats, DrainedRecord, EndUser, PipelineCounter
from analytics.stats import HourCounters
from botpresto.bots.models import Bot
from tests.analytics.conftest import NOW, record
from tests.factories import bot_make

pytestmark = pytest.mark.django_db

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="the stream buffer needs REDIS_URL")
# Decided before any fixture runs: a skipped test on several connections leaves nothing to flush.
needs_postgres = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="writers on several connections need PostgreSQL"
)


def user(n: int) -> dict[str, Any]:
    return {"id": 7000 + n, "is_bot": False, "first_name": f"U{n}", "language_code": "en"}


def update(update_id: int, n: int) -> dict[str, Any]:
    chat = {"id": 7000 + n, "type": "private"}
    return {"update_id": update_id, "message": {"message_id": 1, "date": 1, "from": user(n), "chat": chat, "text": "x"}}


def push_updates(bot: Bot, count: int, first: int = 1) -> None:
    assert buffer.records_push([record(bot, update(first + i, i % 17)) for i in range(count)])


def counted(bot: Bot) -> tuple[int, int]:
    """(updates, attempts) the bot's statistics say."""
    totals = BotHourlyStats.objects.filter(bot=bot).aggregate(u=Sum("updates"), a=Sum("attempts"))
    return totals["u"] or 0, totals["a"] or 0


def failed() -> int:
    return (
        PipelineCounter.objects.filter(name=PipelineCounter.RECORDS_FAILED).values_list("value", flat=True).first() or 0
    )


def dead_worker_reads(bot: Bot, limit: int = 100) -> buffer.Batch:
    """What a worker killed mid-drain leaves: the bot's stream read under its lease, nothing acknowledged.
    Its lease has run out."""
    shard = buffer.shard_of({"bot": str(bot.uuid)})
    assert buffer.lease_take(shard, "dead-worker")
    batch = buffer.batch_read(shard, "dead-worker", limit)
    assert batch is not None
    buffer.lease_release(shard, "dead-worker")
    return batch


@needs_redis
def test_it_takes_over_a_batch_a_killed_worker_read_and_counts_it_once(owner) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant)
    push_updates(bot, 30)
    batch = dead_worker_reads(bot)
    assert len(batch.ids) == 30
    assert buffer.buffer_length() == 30  # still there, pending

    assert services.records_drain(seconds=5) == 30
    assert counted(bot) == (30, 30)
    assert buffer.buffer_length() == 0


@needs_redis
def test_it_a_batch_delivered_again_after_its_statistics_were_written_is_not_counted_twice(owner) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant)
    push_updates(bot, 12)
    batch = dead_worker_reads(bot)
    services.records_process(records=batch.records, keys=batch.keys)  # written; killed before the XACK
    assert counted(bot) == (12, 12)

    services.records_drain(seconds=5)
    assert counted(bot) == (12, 12)
    assert EndUser.objects.filter(bot=bot).count() == 12
    assert buffer.buffer_length() == 0


@needs_redis
def test_it_a_worker_waits_for_a_killed_workers_lease_only(owner, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_SHARDS = 4
    bots = [bot_make(owner.tenant, username=f"b{n}_bot") for n in range(12)]
    for bot in bots:
        push_updates(bot, 3)
    held = buffer.shard_of({"bot": str(bots[0].uuid)})
    assert buffer.lease_take(held, "hung-worker")

    services.records_drain(seconds=5)
    assert {bot.username: counted(bot)[0] for bot in bots} == {
        bot.username: 0 if buffer.shard_of({"bot": str(bot.uuid)}) == held else 3 for bot in bots
    }
    buffer.lease_release(held, "hung-worker")  # or it runs out: ANALYTICS_LEASE_SECONDS
    services.records_drain(seconds=5)
    assert all(counted(bot)[0] == 3 for bot in bots)


@needs_redis
def test_it_an_entry_that_keeps_killing_workers_is_counted_and_let_go(owner, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_MAX_DELIVERIES = 2
    bot = bot_make(owner.tenant)
    push_updates(bot, 5)
    dead_worker_reads(bot)
    dead_worker_reads(bot)  # delivered twice, never acknowledged

    services.records_drain(seconds=5)  # the third delivery
    assert counted(bot) == (0, 0)
    assert failed() == 5
    assert buffer.buffer_length() == 0


@needs_redis
def test_it_a_database_outage_does_not_make_a_batch_count_as_poison(owner, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_MAX_DELIVERIES = 2
    bot = bot_make(owner.tenant)
    push_updates(bot, 4)

    def database_away(**kwargs: object) -> int:
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "records_process", database_away)
    for _ in range(3):
        with pytest.raises(OperationalError):
            services.records_drain(seconds=5)
    monkeypatch.undo()
    services.records_drain(seconds=5)
    assert counted(bot) == (4, 4)
    assert failed() == 0


@needs_redis
def test_it_commits_nothing_once_its_lease_is_lost_and_the_new_holder_counts_the_batch_once(owner) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant)
    push_updates(bot, 8)
    shard = buffer.shard_of({"bot": str(bot.uuid)})
    assert buffer.lease_take(shard, "slow-worker")
    buffer._required_client().set(buffer.LEASE.format(shard=shard), "next-worker")  # it ran out; taken over

    assert services._drain_stream(shard, "slow-worker", 100) == 0
    assert counted(bot) == (0, 0)
    buffer.lease_release(shard, "next-worker")
    services.records_drain(seconds=5)
    assert counted(bot) == (8, 8)
    assert buffer.buffer_length() == 0


def test_it_each_thread_drains_under_a_consumer_name_of_its_own() -> None:
    names: list[str] = []
    threads = [threading.Thread(target=lambda: names.append(buffer.consumer_name())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({*names, buffer.consumer_name()}) == 3


def test_it_a_record_that_cannot_be_written_is_counted_and_does_not_hold_back_the_others(  # type: ignore[no-untyped-def]
    owner, monkeypatch
) -> None:
    bot = bot_make(owner.tenant)
    push_updates(bot, 9)
    real = services.plan_build

    def plan_build(*, attempts, bots):  # type: ignore[no-untyped-def]
        if any(a.update and a.update["update_id"] == 5 for a in attempts):
            raise ValueError("a record this version cannot handle")
        return real(attempts=attempts, bots=bots)

    monkeypatch.setattr(services, "plan_build", plan_build)
    services.records_drain(seconds=5)
    assert counted(bot) == (8, 8)
    assert failed() == 1
    assert buffer.buffer_length() == 0


def test_it_the_table_buffer_keeps_a_batch_whose_statistics_did_not_commit(owner, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    buffer._client = None
    bot = bot_make(owner.tenant)
    push_updates(bot, 6)
    real = services._write

    def killed_mid_write(*args):  # type: ignore[no-untyped-def]
        real(*args)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_write", killed_mid_write)
    with pytest.raises(OperationalError):
        services.records_drain(seconds=5)
    assert counted(bot) == (0, 0)
    assert buffer.buffer_length() == 6
    monkeypatch.undo()
    services.records_drain(seconds=5)
    assert counted(bot) == (6, 6)
    assert buffer.buffer_length() == 0


@needs_redis
def test_it_written_entries_are_forgotten_once_acknowledged(owner) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant)
    push_updates(bot, 10)
    services.records_drain(seconds=5)
    assert DrainedRecord.objects.count() == 10
    services.drained_prune()
    assert DrainedRecord.objects.count() == 0
    assert counted(bot) == (10, 10)


@needs_redis
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_it_drains_in_parallel_and_counts_every_record_exactly_once(owner, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_BATCH_SIZE = 50
    bots = [bot_make(owner.tenant, username=f"p{n}_bot") for n in range(16)]
    for bot in bots:
        push_updates(bot, 150)
    for bot in bots[:4]:
        dead_worker_reads(bot, limit=40)  # a killed worker's batches among them
    taken: list[int] = []

    def drain() -> None:
        try:
            while n := services.records_drain(seconds=5):
                taken.append(n)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {bot.username: counted(bot) for bot in bots} == {bot.username: (150, 150) for bot in bots}
    assert EndUser.objects.count() == 16 * 17
    assert buffer.buffer_length() == 0
    assert sum(taken) == 16 * 150  # the killed worker's batches taken over, each entry once


@needs_redis
def test_it_sends_mixpanel_one_event_per_record_and_the_same_dedupe_key_if_ever_twice(  # type: ignore[no-untyped-def]
    bot, collector
) -> None:
    tap = {"update_id": 77, "callback_query": {"id": "q", "from": user(1), "data": "buy", "chat_instance": "c"}}
    assert buffer.records_push([record(bot, tap, received_at=NOW + 0.123)])  # no date of its own
    batch = dead_worker_reads(bot)
    services.records_process(records=batch.records, keys=batch.keys)  # written; killed before the XACK
    services.records_drain(seconds=5)
    services.mixpanel_send()
    assert len(collector.events) == 1

    # Were the same record ever written twice (its DrainedRecord row long gone), Mixpanel would
    # keep one: it deduplicates on event, distinct_id, time and $insert_id, all derived from the record.
    services.records_process(records=batch.records)
    services.mixpanel_send()
    keys = ("distinct_id", "time", "$insert_id")
    first, second = ({k: e["properties"].get(k) for k in keys} for e in collector.events)
    assert [e["event"] for e in collector.events] == ["callback_query", "callback_query"]
    assert first == second


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_it_adds_the_counts_of_two_writers_of_a_bot_hour_neither_had_written(owner) -> None:  # type: ignore[no-untyped-def]
    """A drain and the Mixpanel sender (counting what it dropped) may both create the same bot-hour."""
    bot = bot_make(owner.tenant)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    inside = threading.Event()

    def first_writer() -> None:
        try:
            with transaction.atomic():
                services.stats_upsert(hours={(bot.id, hour): HourCounters(updates=2)})
                inside.set()
                time.sleep(0.5)  # not committed yet while the second writes
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert inside.wait(5)
    services.stats_upsert(hours={(bot.id, hour): HourCounters(updates=3)})
    thread.join()
    assert BotHourlyStats.objects.get(bot=bot).updates == 5
