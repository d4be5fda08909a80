"""The dashboard across an owner's bots: each bot's last 24 hours, the tenant's totals, attention first.

One query for every bot's hours (bot-hour rows, index on (bot, hour)), whatever
the number of bots: an owner with hundreds of bots gets the page as fast as one
with three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from analytics.models import BotHourlyStats
from analytics.stats import BUCKETS, percentile
from botpresto.bots.models import Bot
from botpresto.bots.status_hints import NEEDS_ATTENTION

HOURS = 24
S = Bot.Status
# Which bots come first: updates are not reaching the owner's bot at all, then those the owner should look at.
_URGENT = (S.FAILING, S.TOKEN_REVOKED, S.WEBHOOK_CHANGED)
_WATCH = frozenset({S.DISCONNECTED, S.BYPASSED, S.WAITING})


class _Rates:
    """What a page shows of a bot's day and of the tenant's totals alike."""

    attempts: int
    latency: list[int]

    @property
    def total_failures(self) -> int:
        raise NotImplementedError

    @property
    def failure_rate(self) -> float:
        return self.total_failures / self.attempts if self.attempts else 0.0

    @property
    def failure_percent(self) -> float:
        return 100 * self.failure_rate

    @property
    def latency_p95_ms(self) -> float | None:
        return percentile(self.latency, 0.95)


@dataclass
class BotDay(_Rates):
    """One bot's last 24 hours, hour by hour (oldest first)."""

    updates: list[int] = field(default_factory=lambda: [0] * HOURS)
    failures: list[int] = field(default_factory=lambda: [0] * HOURS)
    attempts: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    @property
    def total_updates(self) -> int:
        return sum(self.updates)

    @property
    def total_failures(self) -> int:
        return sum(self.failures)

    def sparkline(self) -> SafeString:
        return sparkline(self)


@dataclass
class FleetTotals(_Rates):
    bots: int = 0
    attention: int = 0
    updates: int = 0
    attempts: int = 0
    failures: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    @property
    def total_failures(self) -> int:
        return self.failures


def _window(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


def bots_last_day(*, bots: list[Bot], now: datetime | None = None) -> dict[int, BotDay]:
    """Each bot's hours of the last 24 (the current one included), from one query."""
    since = _window(now or timezone.now())
    days = {bot.id: BotDay() for bot in bots}
    rows = BotHourlyStats.objects.filter(bot_id__in=list(days), hour__gte=since).values_list(
        "bot_id", "hour", "updates", "attempts", "failures", "latency"
    )
    for bot_id, hour, updates, attempts, failures, latency in rows:
        index = int((hour - since).total_seconds() // 3600)
        if not 0 <= index < HOURS:
            continue
        day = days[bot_id]
        day.updates[index] += updates
        day.failures[index] += failures
        day.attempts += attempts
        for i, n in enumerate(latency[:BUCKETS]):
            day.latency[i] += n
    return days


def attention_rank(bot: Bot, day: BotDay) -> tuple[int, float, int, str]:
    """Sort key: bots whose updates do not get through first, then those to look at, then the rest.

    Within a group, the higher failure rate first, then the busier bot.
    """
    status = bot.shown_status
    if status in _URGENT:
        group = _URGENT.index(status)
    elif status in NEEDS_ATTENTION:
        group = len(_URGENT)
    elif status in _WATCH:
        group = len(_URGENT) + 1
    else:
        group = len(_URGENT) + 2
    return (group, -day.failure_rate, -day.total_updates, (bot.username or bot.name or "").lower())


def fleet_overview(*, bots: list[Bot], now: datetime | None = None) -> tuple[list[tuple[Bot, BotDay]], FleetTotals]:
    """The tenant's bots with their last day, attention first, and the totals of them all."""
    days = bots_last_day(bots=bots, now=now)
    rows = sorted(((bot, days[bot.id]) for bot in bots), key=lambda pair: attention_rank(*pair))
    totals = FleetTotals(bots=len(bots))
    for bot, day in rows:
        totals.attention += bot.shown_status in NEEDS_ATTENTION
        totals.updates += day.total_updates
        totals.attempts += day.attempts
        totals.failures += day.total_failures
        for i, n in enumerate(day.latency):
            totals.latency[i] += n
    return rows, totals


SPARK_W, SPARK_H = 120, 28
UPDATES_COLOUR, FAILURES_COLOUR = "#0072B2", "#D55E00"  # the charts' palette (analytics.charts)


def sparkline(day: BotDay) -> SafeString:
    """Updates per hour as a line, failed attempts as columns beneath it, on one scale; inline SVG."""
    top = max([*day.updates, *day.failures, 1])
    step = SPARK_W / HOURS

    def y(value: int) -> float:
        return SPARK_H - 1 - (SPARK_H - 2) * value / top

    points = " ".join(f"{step * (i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(day.updates))
    bars = "".join(
        f'<rect x="{step * i + 0.5:.1f}" y="{y(v):.1f}" width="{step - 1:.1f}" height="{SPARK_H - 1 - y(v):.1f}" '
        f'fill="{FAILURES_COLOUR}"/>'
        for i, v in enumerate(day.failures)
        if v
    )
    label = f"Last 24 hours: {day.total_updates} updates, {day.total_failures} failed attempts"
    svg = (
        f'<svg class="sparkline" viewBox="0 0 {SPARK_W} {SPARK_H}" width="{SPARK_W}" height="{SPARK_H}" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        f'<line x1="0" x2="{SPARK_W}" y1="{SPARK_H - 0.5}" y2="{SPARK_H - 0.5}" stroke="#d0d7de"/>{bars}'
        f'<polyline points="{points}" fill="none" stroke="{UPDATES_COLOUR}" stroke-width="1.5"/></svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numbers and an escaped label only
