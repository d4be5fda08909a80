"""Events and profiles into each bot's own Mixpanel project, through the official library.

The drain never calls Mixpanel: it writes each batch's events and profiles to
an outbox (MixpanelPending, without the token) in the same transaction as the
statistics, so a crash loses nothing and an outage never slows the drain. A
sender, which several workers may run at once, ships the outbox: per bot and
endpoint, as many waiting rows as fit in one request (2000 items or about
2 MB of JSON, what the API takes), on a few threads, since each bot is a
separate Mixpanel project and so a separate request.

Events go to /track: it takes the project token alone (/import needs the
owner's API secret or a service account, which we do not ask for) and takes
events of the last 5 days, far more than Telegram's 24 h. A failed request is
retried with exponential backoff until /track would refuse its events for age.
Each bot's outbox is bounded; what does not fit, or gets too old, is dropped
and counted by the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import zlib
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from mixpanel import Consumer, MixpanelException
from mixpanel import __version__ as mixpanel_version

from analytics.models import MixpanelPending

logger = logging.getLogger(__name__)

MAX_ITEMS = 2000
MAX_BYTES = 1_800_000  # of the stored JSON; the token added on sending stays under Mixpanel's 2 MB
TRACK_WINDOW = 5 * 86400 - 3600  # /track takes events of the last 5 days; keep an hour's margin
BACKOFF_FIRST = 15
BACKOFF_MAX = 3600
EVENTS, PEOPLE = MixpanelPending.Endpoint.EVENTS, MixpanelPending.Endpoint.PEOPLE

_local = threading.local()

Batch = tuple[int, str, list[dict[str, Any]]]  # bot id, endpoint, items


def insert_id(bot_uuid: str, update_id: int, event: str = "") -> str:
    """Stable per update (and event made of it), so Mixpanel drops a copy of an event it already has (36 chars
    max)."""
    suffix = f":{event}" if event else ""
    return hashlib.sha256(f"{bot_uuid}:{update_id}{suffix}".encode()).hexdigest()[:32]


def event_build(
    *, name: str, distinct_id: str, time: float, insert_id: str, properties: dict[str, Any]
) -> dict[str, Any]:
    props = {"distinct_id": distinct_id, "time": time, "$insert_id": insert_id, "mp_lib": "python"}
    props["$lib_version"] = mixpanel_version
    props.update(properties)
    return {"event": name, "properties": props}


def profile_build(*, distinct_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"$distinct_id": distinct_id, "$ip": 0, "$set": values}


def _held(bot_ids: Iterable[int]) -> dict[int, int]:
    rows = MixpanelPending.objects.filter(bot_id__in=set(bot_ids)).values("bot_id").annotate(n=Sum("count"))
    return {row["bot_id"]: row["n"] for row in rows}


def _rows(bot_id: int, endpoint: str, items: list[dict[str, Any]], now: datetime) -> Iterable[MixpanelPending]:
    """Rows of at most one request each."""
    parts: list[str] = []
    size = 0
    oldest = now.timestamp()
    for item in items:
        part = json.dumps(item, separators=(",", ":"))
        if parts and (len(parts) >= MAX_ITEMS or size + len(part) > MAX_BYTES):
            yield _row(bot_id, endpoint, parts, oldest, now)
            parts, size, oldest = [], 0, now.timestamp()
        parts.append(part)
        size += len(part) + 1
        if endpoint == EVENTS:
            oldest = min(oldest, float(item["properties"]["time"]))
    if parts:
        yield _row(bot_id, endpoint, parts, oldest, now)


def _row(bot_id: int, endpoint: str, parts: list[str], oldest: float, now: datetime) -> MixpanelPending:
    text = ("[" + ",".join(parts) + "]").encode()
    return MixpanelPending(
        bot_id=bot_id,
        endpoint=endpoint,
        payload=zlib.compress(text, 1),
        count=len(parts),
        size=len(text),
        oldest=oldest,
        next_attempt_at=now,
    )


def outbox_add(*, batches: list[Batch]) -> dict[int, int]:
    """Queue items for sending, within each bot's bound; returns dropped item counts by bot id."""
    batches = [batch for batch in batches if batch[2]]
    if not batches:
        return {}
    held = _held(bot_id for bot_id, _, _ in batches)
    now = timezone.now()
    dropped: dict[int, int] = defaultdict(int)
    rows: list[MixpanelPending] = []
    for bot_id, endpoint, items in batches:
        room = max(settings.ANALYTICS_MIXPANEL_BUFFER_MAX - held.get(bot_id, 0), 0)
        if len(items) > room:
            dropped[bot_id] += len(items) - room
            logger.warning("mixpanel_buffer_full bot=%s endpoint=%s dropped=%d", bot_id, endpoint, len(items) - room)
            items = items[:room]
        held[bot_id] = held.get(bot_id, 0) + len(items)
        rows.extend(_rows(bot_id, endpoint, items, now))
    MixpanelPending.objects.bulk_create(rows)
    return dict(dropped)


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
            retry_limit=0,  # retried from the outbox with backoff instead, never holding a thread
        )
        _local.config = config
    consumer: Consumer = _local.consumer
    return consumer


def _with_token(endpoint: str, payload: str, token: str) -> str:
    """The stored JSON array with the token in each item.

    Done on the text, not by decoding a megabyte and encoding it again: we wrote
    the payload, so each event starts with the "properties" key of its own and
    each profile with "$distinct_id"; the same text inside a value would have
    its quotes escaped, so it cannot match.
    """
    quoted = json.dumps(token)
    if endpoint == EVENTS:
        return payload.replace('"properties":{', '"properties":{"token":' + quoted + ",")
    return payload.replace('{"$distinct_id":', '{"$token":' + quoted + ',"$distinct_id":')


def _post(endpoint: str, body: str) -> str | None:
    """None when Mixpanel took the batch, else "down" (unreachable) or "refused" (it answered no)."""
    try:
        _consumer().send(endpoint, body)
    except MixpanelException as exc:
        # The library's message may quote Mixpanel's answer; only the kind is logged.
        return "refused" if str(exc).startswith("Mixpanel error") else "down"
    return None


def _claim(now: datetime, limit: int) -> list[MixpanelPending]:
    """Take due rows for this run: a lease keeps other senders off them until it ends."""
    lease = now + timedelta(seconds=settings.ANALYTICS_MIXPANEL_TIMEOUT * 3 + 60)
    fields = ("id", "bot_id", "endpoint", "payload", "count", "size", "oldest", "attempts", "bot__mixpanel_token")
    with transaction.atomic():
        rows = list(
            MixpanelPending.objects.filter(next_attempt_at__lte=now)
            .select_related("bot")
            .only(*fields)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")[:limit]
        )
        MixpanelPending.objects.filter(id__in=[row.id for row in rows]).update(next_attempt_at=lease)
    return rows


def _requests(rows: list[MixpanelPending]) -> list[list[MixpanelPending]]:
    """Rows grouped per bot and endpoint, as many per request as the API takes."""
    groups: dict[tuple[int, str], list[list[MixpanelPending]]] = defaultdict(list)
    for row in rows:
        chunks = groups[(row.bot_id, row.endpoint)]
        last = chunks[-1] if chunks else None
        if (
            last is None
            or sum(r.count for r in last) + row.count > MAX_ITEMS
            or sum(r.size for r in last) + row.size > MAX_BYTES
        ):
            chunks.append([row])
        else:
            last.append(row)
    return [chunk for chunks in groups.values() for chunk in chunks]


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


def outbox_send(*, now: datetime | None = None, limit: int = 1000) -> tuple[int, dict[int, int]]:
    """Send due rows; returns (rows taken, dropped item counts by bot id).

    A bot whose token was removed, and events /track would refuse for age, are
    dropped. After Mixpanel is found unreachable the run stops calling it; the
    rows not tried wait a little and are tried again.
    """
    now = now or timezone.now()
    rows = _claim(now, limit)
    dropped: dict[int, int] = defaultdict(int)
    sendable, expired = [], []
    for row in rows:
        if not row.bot.mixpanel_token or row.oldest < now.timestamp() - TRACK_WINDOW:
            dropped[row.bot_id] += row.count
            expired.append(row.id)
        else:
            sendable.append(row)
    MixpanelPending.objects.filter(id__in=expired).delete()
    unreachable = threading.Event()

    def send(chunk: list[MixpanelPending]) -> str | None:
        if unreachable.is_set():
            return "skipped"
        token = str(chunk[0].bot.mixpanel_token)
        endpoint = chunk[0].endpoint
        body = "[" + ",".join(_with_token(endpoint, row.items_json, token)[1:-1] for row in chunk) + "]"
        failure = _post(endpoint, body)
        if failure == "down":
            unreachable.set()
        return failure

    chunks = _requests(sendable)
    with ThreadPoolExecutor(max_workers=settings.ANALYTICS_MIXPANEL_CONCURRENCY) as pool:
        results = list(pool.map(send, chunks))
    sent: list[int] = []
    for chunk, failure in zip(chunks, results, strict=True):
        ids = [row.id for row in chunk]
        if failure is None:
            sent.extend(ids)
            continue
        attempts = max(row.attempts for row in chunk) + (failure != "skipped")
        if failure != "skipped":
            logger.warning(
                "mixpanel_send_failed bot=%s endpoint=%s failure=%s items=%d attempts=%d",
                chunk[0].bot_id,
                chunk[0].endpoint,
                failure,
                sum(row.count for row in chunk),
                attempts,
            )
        MixpanelPending.objects.filter(id__in=ids).update(attempts=attempts, next_attempt_at=now + _backoff(attempts))
    MixpanelPending.objects.filter(id__in=sent).delete()
    return len(rows), dict(dropped)
