"""From buffered records to end users, statistics and Mixpanel's outbox.

One drain runs at a time (a cache lock): it pops a batch, works out in Python
what the batch changes, and writes it in one transaction with one upsert of
end users, one of hourly and one of daily rows, and one insert into the
Mixpanel outbox, which senders ship apart. A single drain keeps the
get-then-set steps (retry detection, counter merges, "first seen in this
hour") free of races without row locks, and one process drains faster than
the proxy receives (README, "Performance — analytics drain").
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from analytics import buffer, mixpanel_sink
from analytics.deliveries import deliveries_record
from analytics.models import BotDailyStats, BotHourlyStats, PipelineCounter, StatsCounters
from analytics.plan import Plan, plan_build
from analytics.records import Attempt, attempt_parse, retries_mark, retries_remember
from analytics.stats import COUNTERS, MAPS, HourCounters, day_counters
from botpresto.bots.models import Bot

logger = logging.getLogger(__name__)

LOCK_KEY = "an:drain:lock"
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
    """Add counters to bot-period rows: one read under lock, one upsert."""
    stored = {
        (row["bot_id"], row[period]): row
        for row in model._default_manager.select_for_update()
        .filter(bot_id__in={bot for bot, _ in deltas}, **{f"{period}__in": {start for _, start in deltas}})
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
    for key, received_at in latest.items():
        moment = datetime.fromtimestamp(received_at, tz=UTC)
        # Only forward: records of one batch may be older than what another batch wrote.
        Bot.objects.filter(Q(last_update_at__isnull=True) | Q(last_update_at__lt=moment), id=bots[key].id).update(
            last_update_at=moment
        )


def records_process(*, records: list[Any]) -> int:
    """Store what a batch of records says, Mixpanel's part in its outbox; returns the attempts used."""
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
    retries_remember(remember, forget)
    _last_update_mark(attempts, bots)
    counter_add(name=PipelineCounter.RECORDS_INVALID, n=invalid)
    counter_add(name=PipelineCounter.RECORDS_UNKNOWN_BOT, n=unknown)
    return len(attempts)


def records_drain(*, batch_size: int | None = None, seconds: float | None = None) -> int | None:
    """Drain the buffer until it is empty or the time is up; None if another drain is running."""
    batch_size = batch_size or settings.ANALYTICS_BATCH_SIZE
    seconds = settings.ANALYTICS_DRAIN_SECONDS if seconds is None else seconds
    token = uuid.uuid4().hex
    if not cache.add(LOCK_KEY, token, timeout=int(seconds) + 120):
        return None
    done = 0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            records = buffer.records_pop(batch_size)
            if not records:
                break
            try:
                records_process(records=records)
            except (OperationalError, InterfaceError):
                buffer.records_return(records)  # the database is away: try again on the next run
                raise
            except Exception:
                logger.exception("analytics_batch_failed records=%d", len(records))
                counter_add(name=PipelineCounter.RECORDS_FAILED, n=len(records))
            done += len(records)
    finally:
        if cache.get(LOCK_KEY) == token:
            cache.delete(LOCK_KEY)
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
