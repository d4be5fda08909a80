"""The records the proxy pushes, checked once so the rest of the pipeline can trust them.

A record is ``{"bot", "received_at", "outcome": {...}, "update": <metadata> | None,
"malformed"}`` (see analytics.buffer). Anything else is counted, never guessed at.
"""

from __future__ import annotations

import functools
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache

from analytics.extract import metadata_clean

FAILURE_KINDS = frozenset(
    {"connect", "dns", "tls", "timeout", "redirect", "http_status", "gone", "overload", "too_large"}
)
# Telegram keeps an update at most 24 h; an hour more covers clock skew.
SEEN_TTL = 25 * 3600


@dataclass(slots=True)
class Attempt:
    """One delivery attempt of one update, as the proxy saw it."""

    bot: str  # uuid
    received_at: float
    status: int
    upstream_status: int | None
    latency_ms: float | None
    failure: str | None  # kind of failure, None when the owner's bot took the update
    update: dict[str, Any] | None  # extract.update_metadata, None when it was not understood
    first: bool = True  # the first attempt of this update_id (retries are not new updates)
    filtered: bool = False  # a type only the analytics asked for: answered by the proxy, never forwarded

    @property
    def hour(self) -> datetime:
        return datetime.fromtimestamp(self.received_at - self.received_at % 3600, tz=UTC)

    @property
    def retried_by_telegram(self) -> bool:
        """Telegram retries an update whenever we did not answer 2xx."""
        return not 200 <= self.status < 300


def _number(value: Any) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None  # JSON lets NaN and Infinity through
    return float(value)


@functools.lru_cache(maxsize=4096)
def _bot_uuid(text: str) -> str | None:
    """The canonical form of a bot's uuid (a batch names the same few hundred bots thousands of times)."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def attempt_parse(record: Any) -> Attempt | None:
    """The attempt a record describes, or None when it is not a record at all."""
    if not isinstance(record, dict) or not isinstance(record.get("bot"), str):
        return None
    bot = _bot_uuid(record["bot"])
    if bot is None:
        return None
    outcome = record.get("outcome")
    received_at = _number(record.get("received_at"))
    if not isinstance(outcome, dict) or not received_at or received_at < 0 or type(outcome.get("status")) is not int:
        return None
    status: int = outcome["status"]
    upstream = outcome.get("upstream_status")
    error = outcome.get("error")
    if error in FAILURE_KINDS:
        failure = error
    elif error:
        failure = "other"  # a kind this version does not know yet
    else:
        failure = None if 200 <= status < 300 else "http_status"
    update = metadata_clean(record.get("update"))
    return Attempt(
        bot=bot,
        received_at=received_at,
        status=status,
        upstream_status=upstream if type(upstream) is int else None,
        latency_ms=_number(outcome.get("latency_ms")),
        failure=failure,
        update=update,
        filtered=outcome.get("filtered") is True,
    )


def retries_mark(attempts: list[Attempt], bot_ids: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    """Set ``first`` on each attempt; return what to remember and forget once the batch is stored.

    Only updates we answered with a failure are remembered (Telegram retries
    exactly those), and forgotten when a retry gets through, so the seen-set
    holds the failing updates of the last day rather than every update.
    A bot's records are written by one drain at a time, in order (analytics.buffer): get-then-set is not raced.
    """
    # Short keys: the cache checks every character of every key.
    keyed = [(a, f"an:seen:{bot_ids[a.bot]}:{a.update['update_id']}") for a in attempts if a.update is not None]
    seen = set(cache.get_many([key for _, key in keyed])) if keyed else set()
    remember: dict[str, int] = {}
    forget: list[str] = []
    for attempt, key in keyed:
        attempt.first = key not in seen
        if attempt.retried_by_telegram and attempt.first:
            seen.add(key)
            remember[key] = 1
        elif not attempt.retried_by_telegram and not attempt.first:
            seen.discard(key)
            remember.pop(key, None)
            forget.append(key)
    return remember, forget


def retries_remember(remember: dict[str, int], forget: list[str]) -> None:
    if remember:
        cache.set_many(remember, timeout=SEEN_TTL)
    if forget:
        cache.delete_many(forget)
