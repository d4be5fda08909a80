"""Counters of one bot-hour, and how they add up (shared by the writer and the readers).

Latency is kept as counts per fixed bucket, so hours merge by adding and
percentiles come from the merged histogram. Maps of names (commands,
languages) are capped per hour so a user inventing commands cannot grow a
row without bound; what does not fit is counted under OTHER.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Upper edges in ms of the latency buckets; the last bucket is everything above.
LATENCY_EDGES_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
BUCKETS = len(LATENCY_EDGES_MS) + 1
MAP_CAP = 100
OTHER = "_other"

COUNTERS = (
    "updates",
    "attempts",
    "failures",
    "users",
    "day_users",
    "new_users",
    "skipped",
    "mixpanel_dropped",
    "blocks",
    "unblocks",
)
MAPS = ("by_type", "failures_by_kind", "commands", "languages", "chat_types")


def latency_bucket(ms: float) -> int:
    return bisect.bisect_left(LATENCY_EDGES_MS, ms)


def _count(counter: dict[str, int], key: str, n: int = 1, *, cap: bool = True) -> None:
    if cap and key not in counter and len(counter) >= MAP_CAP:
        key = OTHER
    counter[key] = counter.get(key, 0) + n


@dataclass
class HourCounters:
    updates: int = 0
    attempts: int = 0
    failures: int = 0
    users: int = 0
    day_users: int = 0
    new_users: int = 0
    skipped: int = 0
    mixpanel_dropped: int = 0
    blocks: int = 0
    unblocks: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    failures_by_kind: dict[str, int] = field(default_factory=dict)
    commands: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    chat_types: dict[str, int] = field(default_factory=dict)
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    # Languages of the users counted in day_users: the day's languages (not stored with the hour).
    day_languages: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, key: str, n: int = 1) -> None:
        _count(getattr(self, name), key, n)

    def add_latency(self, ms: float) -> None:
        self.latency[latency_bucket(ms)] += 1

    def add(self, other: HourCounters | Mapping[str, Any], *, cap: bool = True) -> None:
        """Add another hour's counters (an instance or a row's values) into this one.

        A stored hour is capped; a sum over a period read for a dashboard is not,
        or the first hours' rare names would crowd out the period's top ones.
        """
        get = other.get if isinstance(other, Mapping) else other.__dict__.get
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + (get(name) or 0))
        for name in MAPS:
            mine = getattr(self, name)
            for key, n in (get(name) or {}).items():
                _count(mine, key, n, cap=cap)
        for i, n in enumerate((get("latency") or [])[:BUCKETS]):
            self.latency[i] += n

    def as_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*COUNTERS, *MAPS, "latency")}


def percentile(latency: list[int], q: float) -> float | None:
    """The q-quantile (0..1) in ms, interpolated inside its bucket; None without data."""
    total = sum(latency)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(latency):
        if n and seen + n >= rank:
            low = LATENCY_EDGES_MS[i - 1] if i > 0 else 0
            if i >= len(LATENCY_EDGES_MS):
                return float(LATENCY_EDGES_MS[-1])  # beyond the last edge: all we know is "more than"
            return round(low + (LATENCY_EDGES_MS[i] - low) * (rank - seen) / n, 1)
        seen += n
    return float(LATENCY_EDGES_MS[-1])


def top(counter: Mapping[str, int], limit: int = 10) -> list[dict[str, Any]]:
    ranked = sorted(((k, n) for k, n in counter.items() if k != OTHER), key=lambda kv: (-kv[1], kv[0]))
    return [{"name": k, "count": n} for k, n in ranked[:limit]]


def merged(rows: Iterable[Mapping[str, Any] | HourCounters]) -> HourCounters:
    total = HourCounters()
    for row in rows:
        total.add(row, cap=False)
    return total


def day_counters(hours: Iterable[HourCounters]) -> HourCounters:
    """A day's counters from its hours' (distinct users of the day, not per hour)."""
    day = HourCounters()
    for hour in hours:
        day.add(hour)
        for key, n in hour.day_languages.items():
            _count(day.day_languages, key, n)
    day.users = day.day_users
    day.languages, day.day_languages = day.day_languages, {}
    return day
