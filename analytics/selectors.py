"""Reads for the API and the dashboard: index range scans on (bot, hour), (bot, day) and (bot, last_seen).

A day or a week reads its hourly rows (24 or 168), a month its daily rows
(30), through the unique indexes, however many bots and months the tables
hold (README, "Performance — analytics drain").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from analytics.models import BotDailyStats, BotHourlyStats, CohortDay, EndUser, StatsCounters
from analytics.stats import COUNTERS, MAPS, HourCounters, merged, percentile, top
from botpresto.bots.models import Bot
from botpresto.core.errors import ApplicationError

# period: (length, series step)
PERIODS: dict[str, tuple[timedelta, timedelta]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=1)),
    "30d": (timedelta(days=30), timedelta(days=1)),
}
ACTIVITY = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
USERS_SEARCH_MAX = 64  # a name, an @username or a Telegram id
USERS_LANGUAGE_MAX = 35  # an IETF tag, as stored
_LANGUAGE_FILTER = re.compile(rf"[A-Za-z0-9-]{{1,{USERS_LANGUAGE_MAX}}}")


@dataclass(frozen=True)
class UsersFilter:
    language: str = ""
    active_within: str = ""
    blocked: bool | None = None
    search: str = ""


def users_filter_parse(params: Mapping[str, Any]) -> UsersFilter:
    """The end users page's and API's filter, from query parameters; ApplicationError names a bad one."""
    language = str(params.get("language") or "").strip()
    if language and not _LANGUAGE_FILTER.fullmatch(language):
        raise ApplicationError("A language is a code such as de or pt-br.", field="language")
    active_within = str(params.get("active_within") or "").strip()
    if active_within and active_within not in ACTIVITY:
        raise ApplicationError(f"active_within is one of {', '.join(ACTIVITY)}.", field="active_within")
    search = str(params.get("search") or "").strip()
    if len(search) > USERS_SEARCH_MAX:
        raise ApplicationError(f"A search is at most {USERS_SEARCH_MAX} characters.", field="search")
    blocked_text = str(params.get("blocked") or "").strip().lower()
    if blocked_text not in ("", "true", "false"):
        raise ApplicationError("blocked is true or false.", field="blocked")
    blocked = None if not blocked_text else blocked_text == "true"
    return UsersFilter(language=language, active_within=active_within, blocked=blocked, search=search)


def _floor(moment: datetime, step: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if step >= timedelta(days=1) else moment


def _point(start: datetime, counters: HourCounters) -> dict[str, Any]:
    return {
        "start": start,
        "updates": counters.updates,
        "users": counters.users,
        "new_users": counters.new_users,
        "attempts": counters.attempts,
        "failures": counters.failures,
        "skipped": counters.skipped,
        "blocks": counters.blocks,
        "unblocks": counters.unblocks,
        "updates_by_type": counters.by_type,
        "failures_by_kind": counters.failures_by_kind,
        "latency_p50_ms": percentile(counters.latency, 0.50),
        "latency_p95_ms": percentile(counters.latency, 0.95),
    }


def bot_stats(*, bot: Bot, period: str, now: datetime | None = None) -> dict[str, Any]:
    """Series and totals of one bot over the last 24 hours, 7 days or 30 days (up to now)."""
    length, step = PERIODS[period]
    now = now or timezone.now()
    last = _floor(now, step)
    first = last - length + step
    daily = step >= timedelta(days=1)
    model: type[StatsCounters] = BotDailyStats if daily else BotHourlyStats
    start = "day" if daily else "hour"
    rows = {
        row[start]: row
        for row in model._default_manager.filter(bot=bot, **{f"{start}__gte": first})
        .order_by(start)
        .values(start, *COUNTERS, *MAPS, "latency")
    }
    series, points = [], []
    moment = first
    while moment <= last:
        point = merged([rows[moment]] if moment in rows else [])
        series.append(_point(moment, point))
        points.append(point)
        moment += step
    total = merged(points)
    users = EndUser.objects.filter(bot=bot)
    return {
        "period": period,
        "step": "day" if daily else "hour",
        "start": first,
        "end": now,
        "totals": {
            "updates": total.updates,
            "users": users.filter(last_seen__gte=first).count(),
            "new_users": total.new_users,
            "blocked_users": users.filter(blocked=True).count(),
            "blocks": total.blocks,
            "unblocks": total.unblocks,
            "attempts": total.attempts,
            "failures": total.failures,
            "failures_by_kind": total.failures_by_kind,
            "skipped": total.skipped,
            "mixpanel_dropped": total.mixpanel_dropped,
            "updates_by_type": total.by_type,
            "latency_p50_ms": percentile(total.latency, 0.50),
            "latency_p95_ms": percentile(total.latency, 0.95),
            "top_commands": top(total.commands),
            "languages": top(total.languages),
            "chat_types": total.chat_types,
        },
        "series": series,
        "audience": bot_audience(bot=bot, now=now),
        "retention": bot_retention(bot=bot, now=now),
    }


# Active users: distinct users with an update in the last day, week or month (rolling, up to now).
AUDIENCE = {"dau": timedelta(days=1), "wau": timedelta(days=7), "mau": timedelta(days=30)}
COHORT_DAYS = 30
CAMPAIGN_PERIODS = {"7d": 7, "30d": 30, "90d": 90}


def bot_audience(*, bot: Bot, now: datetime | None = None) -> dict[str, Any]:
    """DAU, WAU and MAU as of now, and how many users have the bot blocked."""
    now = now or timezone.now()
    counts = EndUser.objects.filter(bot=bot).aggregate(
        **{name: Count("id", filter=Q(last_seen__gte=now - length)) for name, length in AUDIENCE.items()},
        blocked_users=Count("id", filter=Q(blocked=True)),
    )
    return {name: counts[name] or 0 for name in (*AUDIENCE, "blocked_users")}


def _rate(part: int, whole: int, complete: bool) -> float | None:
    return round(part / whole, 4) if complete and whole else None


def bot_retention(*, bot: Bot, days: int = COHORT_DAYS, now: datetime | None = None) -> list[dict[str, Any]]:
    """The cohorts of the last ``days`` UTC days, newest first: new users, and how many came back one and seven
    days later. A rate is None until its day is over (a cohort of yesterday has no day-1 figure yet)."""
    today = _floor(now or timezone.now(), timedelta(days=1))
    rows = (
        CohortDay.objects.filter(bot=bot, day__gte=today - timedelta(days=days - 1))
        .values("day")
        .annotate(cohort=Sum("new_users"), d1=Sum("retained_d1"), d7=Sum("retained_d7"))
        .filter(cohort__gt=0)
        .order_by("-day")
    )
    return [
        {
            "day": row["day"],
            "new_users": row["cohort"],
            "retained_d1": row["d1"],
            "retained_d7": row["d7"],
            "d1_rate": _rate(row["d1"], row["cohort"], row["day"] + timedelta(days=2) <= today),
            "d7_rate": _rate(row["d7"], row["cohort"], row["day"] + timedelta(days=8) <= today),
        }
        for row in rows
    ]


def bot_campaigns(*, bot: Bot, period: str = "30d", now: datetime | None = None) -> dict[str, Any]:
    """Per deep-link campaign ("" for users who came without one) over the last 7, 30 or 90 UTC days: users it
    brought, its users active in the period, and day-1 and day-7 retention of the cohorts whose day is over."""
    now = now or timezone.now()
    today = _floor(now, timedelta(days=1))
    first = today - timedelta(days=CAMPAIGN_PERIODS[period] - 1)
    d1_done, d7_done = today - timedelta(days=2), today - timedelta(days=8)
    cohorts = (
        CohortDay.objects.filter(bot=bot, day__gte=first)
        .values("campaign")
        .annotate(
            brought=Sum("new_users"),
            d1_cohort=Sum("new_users", filter=Q(day__lte=d1_done)),
            d1=Sum("retained_d1", filter=Q(day__lte=d1_done)),
            d7_cohort=Sum("new_users", filter=Q(day__lte=d7_done)),
            d7=Sum("retained_d7", filter=Q(day__lte=d7_done)),
        )
    )
    active = dict(
        EndUser.objects.filter(bot=bot, last_seen__gte=first)
        .values("campaign")
        .annotate(n=Count("id"))
        .values_list("campaign", "n")
    )
    rows = [
        {
            "campaign": row["campaign"],
            "new_users": row["brought"] or 0,
            "active_users": active.get(row["campaign"], 0),
            "d1_rate": _rate(row["d1"] or 0, row["d1_cohort"] or 0, True),
            "d7_rate": _rate(row["d7"] or 0, row["d7_cohort"] or 0, True),
        }
        for row in cohorts
    ]
    # Campaigns that brought nobody in the period whose earlier users are still active.
    listed = {row["campaign"] for row in rows}
    rows += [
        {"campaign": name, "new_users": 0, "active_users": n, "d1_rate": None, "d7_rate": None}
        for name, n in active.items()
        if name not in listed
    ]
    rows.sort(key=lambda row: (row["campaign"] == "", -row["new_users"], row["campaign"]))
    return {"period": period, "start": first, "end": now, "campaigns": rows}


def end_users_for_bot(
    *, bot: Bot, filters: UsersFilter | None = None, now: datetime | None = None
) -> QuerySet[EndUser]:
    """A bot's end users, most recently active first."""
    filters = filters or UsersFilter()
    language, active_within, blocked, search = filters.language, filters.active_within, filters.blocked, filters.search
    users = EndUser.objects.filter(bot=bot)
    if language:
        language = language.lower()  # stored lowercase; "pt" matches pt, pt-br, ...
        users = users.filter(Q(language_code=language) | Q(language_code__startswith=f"{language}-"))
    if active_within:
        users = users.filter(last_seen__gte=(now or timezone.now()) - ACTIVITY[active_within])
    if blocked is not None:
        users = users.filter(blocked=blocked)
    if search:
        term = search.lstrip("@")
        match = Q(username__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)
        if term.isascii() and term.isdigit() and len(term) <= 18:  # a Telegram id, within bigint
            match |= Q(telegram_id=int(term))
        users = users.filter(match)
    return users.order_by("-last_seen", "-id")
