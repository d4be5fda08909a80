"""Events and profiles into each bot's own Mixpanel project, through the official library.

Events go to /track: it takes the project token alone (/import needs the
owner's API secret or a service account, which we do not ask for) and accepts
events of the last 5 days, far more than Telegram's 24 h. Batches are as large
as the API takes: 2000 items or about 2 MB of JSON, whichever comes first.

What Mixpanel does not take waits in MixpanelPending (without the token),
capped per bot, and is retried with exponential backoff until /track would
refuse it for age; what does not fit or gets too old is dropped and counted by
the caller. While Mixpanel is unreachable the drain stops calling it for a
while and parks batches straight away, so an outage never slows the drain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone
from mixpanel import Consumer, MixpanelException
from mixpanel import __version__ as mixpanel_version

from analytics.models import MixpanelPending

logger = logging.getLogger(__name__)

MAX_ITEMS = 2000
MAX_BYTES = 1_900_000
TRACK_WINDOW = 5 * 86400 - 3600  # /track takes events of the last 5 days; keep an hour's margin
PAUSE_KEY = "an:mp:paused"
PAUSE_SECONDS = 30
BACKOFF_FIRST = 15
BACKOFF_MAX = 3600

_local = threading.local()


@dataclass(frozen=True, slots=True)
class Project:
    """Where a bot's analytics go: its id and its owner's Mixpanel token."""

    bot_id: int
    token: str


def insert_id(bot_uuid: str, update_id: int) -> str:
    """Stable per update, so Mixpanel drops a copy of an event it already has (36 chars max)."""
    return hashlib.sha256(f"{bot_uuid}:{update_id}".encode()).hexdigest()[:32]


def event_build(
    *, name: str, distinct_id: str, time: float, insert_id: str, properties: dict[str, Any]
) -> dict[str, Any]:
    props = {"distinct_id": distinct_id, "time": time, "$insert_id": insert_id, "mp_lib": "python"}
    props["$lib_version"] = mixpanel_version
    props.update(properties)
    return {"event": name, "properties": props}


def profile_build(*, distinct_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"$distinct_id": distinct_id, "$ip": 0, "$set": values}


def _consumer() -> Consumer:
    """One library consumer (one keep-alive session) per thread, rebuilt if the settings change."""
    config = (settings.MIXPANEL_API_URL, settings.ANALYTICS_MIXPANEL_TIMEOUT)
    if getattr(_local, "config", None) != config:
        base, timeout = config
        _local.consumer = Consumer(
            events_url=f"{base}/track",
            people_url=f"{base}/engage",
            import_url=f"{base}/import",
            request_timeout=timeout,
            retry_limit=0,  # our own backoff retries, from the pending table, never blocking the drain
        )
        _local.config = config
    consumer: Consumer = _local.consumer
    return consumer


def _with_token(endpoint: str, item: dict[str, Any], token: str) -> str:
    if endpoint == MixpanelPending.Endpoint.EVENTS:
        item = {**item, "properties": {"token": token, **item["properties"]}}
    else:
        item = {"$token": token, **item}
    return json.dumps(item, separators=(",", ":"))


def _chunks(items: list[dict[str, Any]], endpoint: str, token: str) -> Iterator[tuple[str, int]]:
    """(JSON array, index of its first item): slices no larger than the API accepts."""
    parts: list[str] = []
    size = start = 0
    for i, item in enumerate(items):
        part = _with_token(endpoint, item, token)
        if parts and (len(parts) >= MAX_ITEMS or size + len(part) + 1 > MAX_BYTES):
            yield "[" + ",".join(parts) + "]", start
            parts, size, start = [], 0, i
        parts.append(part)
        size += len(part) + 1
    if parts:
        yield "[" + ",".join(parts) + "]", start


def _post(endpoint: str, body: str) -> str | None:
    """None when Mixpanel took the batch, else "down" (unreachable) or "refused" (it answered no)."""
    try:
        _consumer().send(endpoint, body)
    except MixpanelException as exc:
        # The library's message may quote Mixpanel's answer; only the kind is logged.
        return "refused" if str(exc).startswith("Mixpanel error") else "down"
    return None


class _PauseMemo:
    """The shared pause flag, read at most once a second: a batch may touch hundreds of bots."""

    checked = 0.0
    value = False


def paused() -> bool:
    now = time.monotonic()
    if now - _PauseMemo.checked > 1:
        _PauseMemo.value, _PauseMemo.checked = bool(cache.get(PAUSE_KEY)), now
    return _PauseMemo.value


def _pause(on: bool = True) -> None:
    if on:
        cache.set(PAUSE_KEY, 1, timeout=PAUSE_SECONDS)
    else:
        cache.delete(PAUSE_KEY)
    _PauseMemo.value, _PauseMemo.checked = on, time.monotonic()


def send(*, project: Project, endpoint: str, items: list[dict[str, Any]]) -> int:
    """Send now or park what fails; returns how many items were dropped (no room to park them)."""
    if not items:
        return 0
    if paused():
        return park(project=project, endpoint=endpoint, items=items)
    dropped = 0
    for body, start in _chunks(items, endpoint, project.token):
        failure = _post(endpoint, body)
        if failure is None:
            continue
        logger.warning(
            "mixpanel_send_failed bot=%s endpoint=%s failure=%s items=%d",
            project.bot_id,
            endpoint,
            failure,
            len(items) - start,
        )
        if failure == "down":
            _pause()
        dropped += park(project=project, endpoint=endpoint, items=items[start:])
        break
    return dropped


def _oldest(endpoint: str, items: list[dict[str, Any]]) -> float:
    if endpoint == MixpanelPending.Endpoint.EVENTS:
        return min(float(item["properties"]["time"]) for item in items)
    return time.time()


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_MAX))


def park(*, project: Project, endpoint: str, items: list[dict[str, Any]]) -> int:
    """Keep items for a later attempt, within the bot's cap; returns how many did not fit."""
    held = MixpanelPending.objects.filter(bot_id=project.bot_id).aggregate(n=Sum("count"))["n"] or 0
    room = max(settings.ANALYTICS_MIXPANEL_RETRY_MAX - held, 0)
    kept, dropped = items[:room], len(items) - min(room, len(items))
    if kept:
        MixpanelPending.objects.create(
            bot_id=project.bot_id,
            endpoint=endpoint,
            payload=json.dumps(kept, separators=(",", ":")),
            count=len(kept),
            oldest=_oldest(endpoint, kept),
            next_attempt_at=timezone.now() + _backoff(1),
        )
    if dropped:
        logger.warning("mixpanel_buffer_full bot=%s endpoint=%s dropped=%d", project.bot_id, endpoint, dropped)
    return dropped


def pending_retry(*, now: datetime | None = None, limit: int = 100) -> dict[int, int]:
    """Resend due parked batches, oldest first; returns dropped item counts by bot id.

    A bot whose token was removed has its batches dropped. Each row is claimed
    with a conditional update, so two runs never send the same batch.
    """
    now = now or timezone.now()
    dropped: dict[int, int] = {}
    rows = (
        MixpanelPending.objects.filter(next_attempt_at__lte=now)
        .select_related("bot")
        .only(*_ROW_FIELDS, "bot__id", "bot__mixpanel_token")
        .order_by("id")[:limit]
    )
    for row in rows:
        lease = now + timedelta(seconds=settings.ANALYTICS_MIXPANEL_TIMEOUT * 4 + 60)
        if not MixpanelPending.objects.filter(id=row.id, next_attempt_at=row.next_attempt_at).update(
            next_attempt_at=lease
        ):
            continue  # another run has it
        token = row.bot.mixpanel_token
        if not token or row.oldest < now.timestamp() - TRACK_WINDOW:
            dropped[row.bot_id] = dropped.get(row.bot_id, 0) + row.count
            row.delete()
            continue
        failure = _post(row.endpoint, _array(row.payload, row.endpoint, str(token)))
        if failure is None:
            row.delete()
            if _PauseMemo.value:
                _pause(False)
            continue
        logger.warning(
            "mixpanel_retry_failed bot=%s endpoint=%s failure=%s attempts=%d",
            row.bot_id,
            row.endpoint,
            failure,
            row.attempts + 1,
        )
        MixpanelPending.objects.filter(id=row.id).update(
            attempts=row.attempts + 1, next_attempt_at=now + _backoff(row.attempts + 1)
        )
        if failure == "down":
            _pause()
            break  # the rest would fail the same way
    return dropped


_ROW_FIELDS = ("id", "bot_id", "endpoint", "payload", "count", "oldest", "attempts", "next_attempt_at")


def _array(payload: str, endpoint: str, token: str) -> str:
    return "[" + ",".join(_with_token(endpoint, item, token) for item in json.loads(payload)) + "]"
