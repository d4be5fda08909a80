"""From buffered records to end users, statistics and Mixpanel's outbox.

A drain takes a batch from the buffer, works out in Python what it changes, and
writes it in one transaction with one upsert of end users, one of hourly and
one of daily rows, and one insert into the Mixpanel outbox, which senders ship
apart. Several drains run at once, with no lock between them: the Redis buffer
hands each a different stream, and a bot's records are all in one stream, so
the get-then-set steps (retry detection, counter merges, "first seen in this
hour") never race over a bot. A batch is acknowledged only once its
transaction committed; one delivered again is recognised (DrainedRecord) and
not counted twice (README, "Analytics drain").
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from analytics import buffer, mixpanel_sink
from analytics.deliveries import deliveries_record
from analytics.models import BotDailyStats, BotHourlyStats, DrainedRecord, PipelineCounter, StatsCounters
from analytics.plan import Plan, plan_build
from analytics.records import Attempt, attempt_parse, retries_mark, retries_remember
from analytics.stats import COUNTERS, MAPS, HourCounters, day_counters
from botpresto.bots.models import Bot

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """A batch outlasted its stream's lease: another drain has the stream (and this batch) now."""


STORED = [*COUNTERS, *MAPS, "latency"]
_BOT_FIELDS = ("id", "uuid", "username", "mixpanel_token")


def counter_add(*, name: str, n: int) -> None:
    if n <= 0:
        return
    if PipelineCounter.objects.filter(name=name).update(value=F("value") + n):
        return
    try:
        with transaction.atomic():
            PipelineCounter.objects.create(name=name, value=n)
    except IntegrityError:  # created meanwhile by another process
        PipelineCounter.objects.filter(name=name).update(value=F("value") + n)


def _counters_upsert(model: type[StatsCounters], period: str, deltas: dict[tuple[int, datetime], HourCounters]) -> None:
    """Add counters to bot-period rows: missing rows created empty, one read under lock, one upsert.

    Creating the rows first lets the read lock every one, so another writer of the same row (the
    Mixpanel sender counting what it dropped) waits for this transaction instead of overwriting its
    counts with its own; rows are taken in one order everywhere, so two writers cannot deadlock.
    """
    keys = sorted(deltas)
    manager = model._default_manager
    manager.bulk_create([model(bot_id=bot_id, **{period: start}) for bot_id, start in keys], ignore_conflicts=True)
    stored = {
        (row["bot_id"], row[period]): row
        for row in manager.select_for_update()
        .filter(bot_id__in={bot for bot, _ in keys}, **{f"{period}__in": {start for _, start in keys}})
        .order_by("bot_id", period)
        .values("bot_id", period, *STORED)
    }
    rows = []
    for (bot_id, start), delta in deltas.items():
        total = HourCounters()
        if (bot_id, start) in stored:
            total.add(stored[(bot_id, start)])
        total.add(delta)
        rows.append(model(bot_id=bot_id, **{period: start}, **total.as_fields()))
    model._default_manager.bulk_create(rows, update_conflicts=True, unique_fields=["bot", period], update_fields=STORED)


def stats_upsert(*, hours: dict[tuple[int, datetime], HourCounters]) -> None:
    """Add counters to the bot-hour rows and to the bot-day rows they belong to."""
    if not hours:
        return
    by_day: dict[tuple[int, datetime], list[HourCounters]] = defaultdict(list)
    for (bot_id, hour), delta in hours.items():
        by_day[(bot_id, hour.replace(hour=0))].append(delta)
    with transaction.atomic():
        _counters_upsert(BotHourlyStats, "hour", hours)
        _counters_upsert(BotDailyStats, "day", {key: day_counters(deltas) for key, deltas in by_day.items()})


def _this_hour() -> datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def _dropped_count(dropped: dict[int, int]) -> None:
    """Count items Mixpanel will never get: per bot-hour (owners, staff) and in total (staff)."""
    dropped = {bot_id: n for bot_id, n in dropped.items() if n}
    if not dropped:
        return
    live = set(Bot.objects.filter(id__in=dropped).values_list("id", flat=True))
    hour = _this_hour()
    deltas = {(bot_id, hour): HourCounters(mixpanel_dropped=n) for bot_id, n in dropped.items() if bot_id in live}
    stats_upsert(hours=deltas)
    counter_add(name=PipelineCounter.MIXPANEL_DROPPED, n=sum(dropped.values()))
    logger.warning("mixpanel_dropped items=%d bots=%d", sum(dropped.values()), len(dropped))


def _write(plan: Plan, attempts: list[Attempt], bots: dict[str, Bot]) -> None:
    """Everything a batch changes, Mixpanel's outbox and the delivery log included, in one transaction."""
    with transaction.atomic():
        deliveries_record(attempts=attempts, bots=bots, live=plan.bot_ids())
        plan.users_upsert()
        stats_upsert(hours=plan.hours)
        _dropped_count(mixpanel_sink.outbox_add(batches=plan.mixpanel_batches()))


def _plan_without_deleted_bots(plan: Plan) -> Plan:
    live = set(Bot.objects.filter(id__in=plan.bot_ids()).values_list("id", flat=True))
    return plan.only_bots(live)


def _last_update_mark(attempts: list[Attempt], bots: dict[str, Bot]) -> None:
    """Keep each bot's time of last update (a manual bot with none is "waiting", then "silent")."""
    latest: dict[str, float] = {}
    for attempt in attempts:
        latest[attempt.bot] = max(latest.get(attempt.bot, 0.0), attempt.received_at)
    moments = {bots[key].id: datetime.fromtimestamp(received_at, tz=UTC) for key, received_at in latest.items()}
    if connection.vendor == "postgresql" and moments:
        # One statement for the batch's bots, not one round trip each (a batch holds hundreds).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE botpresto_bot AS b SET last_update_at = v.at "
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
                "WHERE b.id = v.id AND (b.last_update_at IS NULL OR b.last_update_at < v.at)",
                [list(moments), list(moments.values())],
            )
        return
    for bot_id, moment in moments.items():
        # Only forward: records of one batch may be older than what another batch wrote.
        Bot.objects.filter(Q(last_update_at__isnull=True) | Q(last_update_at__lt=moment), id=bot_id).update(
            last_update_at=moment
        )


def drained_claim(keys: list[int]) -> set[int]:
    """Note buffer entries as written, in the caller's transaction; returns those not written before.

    A second transaction claiming the same entry waits for the first to end (the primary key), so two
    workers given the same entry cannot both count it.
    """
    if not keys:
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO analytics_drainedrecord (key) SELECT unnest(%s::bigint[]) ON CONFLICT DO NOTHING "
                "RETURNING key",
                [keys],
            )
            return {row[0] for row in cursor.fetchall()}
    known = set(DrainedRecord.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = set(keys) - known
    DrainedRecord.objects.bulk_create([DrainedRecord(key=key) for key in fresh], ignore_conflicts=True)
    return fresh


def records_process(
    *, records: list[Any], keys: list[int] | None = None, hold: Callable[[], bool] | None = None
) -> int:
    """Store what a batch of records says, Mixpanel's part in its outbox, in one transaction; returns the
    attempts used. ``keys`` (buffer entries, one per record) make a batch delivered again a no-op.

    ``hold`` renews the stream's lease just before the commit, or says it is lost: then nothing is
    committed, since the drain that has the stream now may already be counting the bot's next records
    without this batch's retries remembered (they are, right after the commit).
    """
    with transaction.atomic():
        if keys is not None:
            fresh = drained_claim(keys)
            records = [record for record, key in zip(records, keys, strict=True) if key in fresh]
        attempts: list[Attempt] = []
        invalid = 0
        for record in records:
            attempt = attempt_parse(record)
            if attempt is None:
                invalid += 1
            else:
                attempts.append(attempt)
        bots = {str(bot.uuid): bot for bot in Bot.objects.filter(uuid__in={a.bot for a in attempts}).only(*_BOT_FIELDS)}
        unknown = sum(1 for a in attempts if a.bot not in bots)
        attempts = [a for a in attempts if a.bot in bots]
        remember, forget = retries_mark(attempts, {key: bot.id for key, bot in bots.items()})
        plan = plan_build(attempts=attempts, bots=bots)
        try:
            _write(plan, attempts, bots)
        except IntegrityError:
            plan = _plan_without_deleted_bots(plan)  # a bot was deleted while we worked
            _write(plan, attempts, bots)
        # Shared by every worker: updated last, so the row is locked only until the commit.
        counter_add(name=PipelineCounter.RECORDS_INVALID, n=invalid)
        counter_add(name=PipelineCounter.RECORDS_UNKNOWN_BOT, n=unknown)
        if hold is not None and not hold():
            raise LeaseLost
    retries_remember(remember, forget)
    _last_update_mark(attempts, bots)
    return len(attempts)


def _records_failed(records: list[Any], keys: list[int] | None) -> None:
    """Records that cannot be written, whatever the database's state: each counted once, and let go."""
    with transaction.atomic():
        n = len(drained_claim(keys)) if keys is not None else len(records)
        counter_add(name=PipelineCounter.RECORDS_FAILED, n=n)
    if n:
        logger.error("analytics_records_failed records=%d", n)


def _records_write(records: list[Any], keys: list[int] | None, hold: Callable[[], bool] | None = None) -> None:
    """Write a batch; if it fails for a reason of its own, write its halves apart, down to the records
    at fault, which are counted (a bad record must not hold back those around it)."""
    try:
        records_process(records=records, keys=keys, hold=hold)
    except (OperationalError, InterfaceError, LeaseLost):
        raise  # the database is away, or the batch is another drain's now: it waits whole
    except Exception:
        if len(records) == 1:
            logger.exception("analytics_record_failed")
            _records_failed(records, keys)
            return
        half = len(records) // 2
        _records_write(records[:half], keys[:half] if keys is not None else None, hold)
        _records_write(records[half:], keys[half:] if keys is not None else None, hold)


def _drain_table(batch_size: int, deadline: float) -> int:
    done = 0
    while time.monotonic() < deadline:
        with buffer.table_batch(batch_size) as records:
            if records:
                # One transaction with the rows' delete: written and gone, or neither.
                _records_write(records, None)
        if not records:
            break
        done += len(records)
    return done


def _drain_stream(shard: int, consumer: str, batch_size: int) -> int:
    """One batch of a leased stream: written, then acknowledged; returns the entries taken."""
    batch = buffer.batch_read(shard, consumer, batch_size)
    if batch is None:
        return 0
    try:
        # Inside the try: with the database away, counting the given-up entries fails too, and the batch must
        # be released, or each run meanwhile would count one more delivery against every entry in it.
        if batch.given_up:
            _records_failed([None] * len(batch.given_up), batch.given_up)
        _records_write(batch.records, batch.keys, hold=lambda: buffer.lease_renew(shard, consumer))
    except LeaseLost:
        logger.warning("analytics_lease_lost shard=%d entries=%d", shard, len(batch.ids))
        return 0  # nothing committed; the drain holding the stream takes the batch over
    except (OperationalError, InterfaceError):
        buffer.batch_release(batch, consumer)  # taken again on a later run
        raise
    buffer.batch_ack(batch)
    return len(batch.ids)


_last_prune = 0.0
PRUNE_SECONDS = 30.0


def drained_prune() -> int:
    """Forget written entries once every stream acknowledged them (they cannot be delivered again)."""
    floor = buffer.drained_floor()
    deleted, _ = DrainedRecord.objects.filter(key__lt=floor).delete()
    return deleted


def records_drain(*, batch_size: int | None = None, seconds: float | None = None) -> int:
    """Drain the buffer until it is empty or the time is up; returns the records taken.

    Any number may run at once: each takes a batch at a time from a stream no other drain holds.
    """
    global _last_prune
    batch_size = batch_size or settings.ANALYTICS_BATCH_SIZE
    seconds = settings.ANALYTICS_DRAIN_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    if buffer.redis_client() is None:
        done = _drain_table(batch_size, deadline)
    else:
        consumer = buffer.consumer_name()
        done = 0
        busy = True
        # A batch per stream in turn, the lease let go after each: drains running together go
        # through all the streams side by side and run out of work together. A round with
        # nothing to take ends the run, even if another drain holds a stream.
        while busy and time.monotonic() < deadline:
            busy = False
            for shard in buffer.shards():
                if time.monotonic() >= deadline:
                    break
                if not buffer.lease_take(shard, consumer):
                    continue  # another drain has it
                try:
                    taken = _drain_stream(shard, consumer, batch_size)
                finally:
                    buffer.lease_release(shard, consumer)
                done += taken
                busy = busy or taken > 0
        if done and time.monotonic() - _last_prune > PRUNE_SECONDS:
            _last_prune = time.monotonic()
            drained_prune()
    if done:
        logger.info("analytics_drained records=%d backlog=%d", done, buffer.buffer_length())
    return done


def mixpanel_send(*, now: datetime | None = None, seconds: float | None = None) -> int:
    """Ship Mixpanel's outbox until nothing is due or the time is up; returns the rows taken.

    Several senders may run at once: each claims its own rows.
    """
    seconds = settings.ANALYTICS_DRAIN_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    taken = 0
    while time.monotonic() < deadline:
        rows, dropped = mixpanel_sink.outbox_send(now=now)
        _dropped_count(dropped)
        taken += rows
        if not rows:
            break
    return taken


def stats_prune(*, now: datetime | None = None) -> int:
    """Forget hourly and daily rows older than the retention period."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    deleted, _ = BotHourlyStats.objects.filter(hour__lt=cutoff).delete()
    first_day = cutoff.replace(hour=0, minute=0, second=0, microsecond=0)
    deleted += BotDailyStats.objects.filter(day__lt=first_day).delete()[0]
    if deleted:
        logger.info("analytics_stats_pruned rows=%d", deleted)
    return deleted
