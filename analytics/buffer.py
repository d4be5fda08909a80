"""The buffer between the proxy and the analytics workers.

The proxy pushes one JSON record per update (metadata only, never content);
workers pop batches. With REDIS_URL it is a Redis list; without, a table every
process can reach. A push never raises: if the buffer is down the record is
counted as lost and the forward goes on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

KEY = "bp:buffer:updates"
LOST_KEY = "bp:buffer:lost"

_client: redis.Redis | None = None
_client_lock = threading.Lock()
_lost_lock = threading.Lock()
_lost_unreported = 0
_last_loss_log = 0.0


def redis_client() -> redis.Redis | None:
    """A process-wide Redis client with short timeouts, or None without REDIS_URL."""
    global _client
    if not settings.REDIS_URL:
        return None
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_timeout=0.25,
                    socket_connect_timeout=0.25,
                    health_check_interval=30,
                )
    return _client


def record_push(record: dict[str, Any]) -> bool:
    """Queue one record for the workers. Returns False (and counts it) if it was lost."""
    payload = json.dumps(record, separators=(",", ":"))
    client = redis_client()
    try:
        if client is None:
            from analytics.models import BufferedRecord

            BufferedRecord.objects.create(payload=payload)
        else:
            client.rpush(KEY, payload)
    except Exception as exc:  # any failure of the buffer must not fail the forward
        _count_loss(exc)
        return False
    _report_losses(client)
    return True


def records_push(records: list[dict[str, Any]]) -> bool:
    """Queue several records in one write (the proxy batches its updates). On failure all count as lost."""
    if not records:
        return True
    payloads = [json.dumps(record, separators=(",", ":")) for record in records]
    client = redis_client()
    try:
        if client is None:
            from analytics.models import BufferedRecord

            BufferedRecord.objects.bulk_create([BufferedRecord(payload=p) for p in payloads])
        else:
            client.rpush(KEY, *payloads)
    except Exception as exc:  # any failure of the buffer must not fail the forward
        _count_loss(exc, len(records))
        return False
    _report_losses(client)
    return True


def records_pop(limit: int) -> list[dict[str, Any]]:
    """Take up to ``limit`` records, oldest first."""
    client = redis_client()
    if client is None:
        from analytics.models import BufferedRecord

        with transaction.atomic():
            rows = list(
                BufferedRecord.objects.select_for_update(skip_locked=True)
                .order_by("id")
                .values_list("id", "payload")[:limit]
            )
            BufferedRecord.objects.filter(id__in=[row_id for row_id, _ in rows]).delete()
        payloads = [payload for _, payload in rows]
    else:
        popped: Any = client.lpop(KEY, limit) or []
        payloads = [p.decode() if isinstance(p, bytes) else p for p in popped]
    return [json.loads(p) for p in payloads]


def records_return(records: list[dict[str, Any]]) -> None:
    """Put back a batch that could not be processed (at the head of a Redis list)."""
    if not records:
        return
    client = redis_client()
    payloads = [json.dumps(r, separators=(",", ":")) for r in records]
    if client is None:
        from analytics.models import BufferedRecord

        BufferedRecord.objects.bulk_create([BufferedRecord(payload=p) for p in payloads])
    else:
        client.lpush(KEY, *reversed(payloads))


def buffer_length() -> int:
    client = redis_client()
    if client is None:
        from analytics.models import BufferedRecord

        return BufferedRecord.objects.count()
    return int(client.llen(KEY))


def lost_count() -> int:
    """Records lost because the buffer was down (reported ones plus this process's)."""
    client = redis_client()
    reported = 0
    if client is not None:
        with contextlib.suppress(redis.RedisError):
            reported = int(client.get(LOST_KEY) or 0)
    return reported + _lost_unreported


def _count_loss(exc: Exception, count: int = 1) -> None:
    global _lost_unreported, _last_loss_log
    with _lost_lock:
        _lost_unreported += count
        now = time.monotonic()
        should_log = now - _last_loss_log > 10
        if should_log:
            _last_loss_log = now
    if should_log:  # one line per ten seconds, not one per update
        logger.warning("buffer_unavailable error=%s lost_in_process=%d", type(exc).__name__, _lost_unreported)


def _report_losses(client: redis.Redis | None) -> None:
    """Once the buffer works again, add this process's losses to the shared counter."""
    global _lost_unreported
    if not _lost_unreported or client is None:
        return
    with _lost_lock:
        count, _lost_unreported = _lost_unreported, 0
    try:
        client.incrby(LOST_KEY, count)
    except redis.RedisError:
        with _lost_lock:
            _lost_unreported += count
