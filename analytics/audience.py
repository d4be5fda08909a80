"""Cohorts and campaigns: counters per bot, UTC day and campaign, kept by the drain with the statistics.

A user belongs to the cohort of the UTC day they were first seen and to the
campaign of the deep link they first came with (``/start <payload>``, "" for
none). Each first update of a user on a later day counts them active that day,
and retained when that day is the first or the seventh after their cohort's:
day-1 and day-7 retention are then two divisions, for any cohort or campaign,
without keeping which user was active when.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.models import CohortDay

logger = logging.getLogger(__name__)

DAY = 86400
RETAINED_AFTER = {1: "retained_d1", 7: "retained_d7"}  # days after the cohort's day → counter

CohortKey = tuple[int, datetime, str]  # bot id, UTC day, campaign


@dataclass
class CohortCounters:
    new_users: int = 0
    active_users: int = 0
    retained_d1: int = 0
    retained_d7: int = 0

    def add(self, other: CohortCounters) -> None:
        for name in NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


NAMES = tuple(f.name for f in fields(CohortCounters))


def day_start(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp - timestamp % DAY, tz=UTC)


def retained_counter(*, first_seen: float, active_at: float) -> str | None:
    """The counter of the user's cohort that activity at ``active_at`` adds to, if any."""
    days = round((day_start(active_at) - day_start(first_seen)).total_seconds() / DAY)
    return RETAINED_AFTER.get(days)


def cohorts_upsert(*, cohorts: dict[CohortKey, CohortCounters]) -> None:
    """Add counters to the bot-day-campaign rows: one read under lock, one upsert (the drain runs alone)."""
    if not cohorts:
        return
    with transaction.atomic():
        stored = {
            (row["bot_id"], row["day"], row["campaign"]): row
            for row in CohortDay.objects.select_for_update()
            .filter(
                bot_id__in={bot for bot, _, _ in cohorts},
                day__in={day for _, day, _ in cohorts},
                campaign__in={campaign for _, _, campaign in cohorts},
            )
            .values("bot_id", "day", "campaign", *NAMES)
        }
        rows = []
        for key, delta in cohorts.items():
            total = CohortCounters(**{name: stored[key][name] for name in NAMES}) if key in stored else CohortCounters()
            total.add(delta)
            bot_id, day, campaign = key
            rows.append(CohortDay(bot_id=bot_id, day=day, campaign=campaign, **vars(total)))
        CohortDay.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["bot", "day", "campaign"], update_fields=list(NAMES)
        )


def cohorts_prune(*, now: datetime | None = None) -> int:
    """Forget cohort rows older than the statistics' retention period."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    deleted, _ = CohortDay.objects.filter(day__lt=cutoff.replace(hour=0, minute=0, second=0, microsecond=0)).delete()
    if deleted:
        logger.info("analytics_cohorts_pruned rows=%d", deleted)
    return deleted
