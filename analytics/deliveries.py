"""The delivery log: one row per delivery attempt, written by the drain, pruned by a periodic task.

The proxy writes nothing here: its record of each attempt (analytics.records)
reaches the drain through the buffer, and the drain stores the rows with one
bulk insert per batch, in the transaction that stores the statistics. Metadata
only: times, statuses, update id and type, chat type; never what was sent.

Whether the user was told the bot is down is known only once the notice task
ran, which may be before or after the drain stored the attempt. The task marks
the cache first, then the row; the drain reads the marks once its rows are
committed. Whichever comes second sees the other's work.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from analytics.models import Delivery
from analytics.records import Attempt
from botpresto.bots.models import Bot

logger = logging.getLogger(__name__)

NOTICE_MARK_SECONDS = 24 * 3600  # a notice task retries for far less than that


def _moment(received_at: float) -> datetime:
    return datetime.fromtimestamp(received_at, tz=UTC)


def _notice_key(bot_id: int, received_at: float) -> str:
    return f"dl:notice:{bot_id}:{received_at!r}"


def _chat_type(attempt: Attempt) -> str:
    update = attempt.update or {}
    chat = update.get("chat") or {}
    return str(chat.get("type") or update.get("chat_type") or "")


def _code(status: int | None) -> int | None:
    """An HTTP status as the column holds it: a record from another version may carry anything."""
    return status if status is not None and 0 <= status <= 999 else None


def _bigint(value: int | None) -> int | None:
    """An update_id the column can hold: one past 64 bits (no Telegram id is) must not lose the batch."""
    return value if value is not None and -(2**63) <= value < 2**63 else None


# The columns as the insert writes them, in this order (Delivery's fields but the id).
_COLUMNS = (
    "bot_id",
    "received_at",
    "update_id",
    "update_type",
    "chat_type",
    "status",
    "upstream_status",
    "latency_ms",
    "failure",
    "filtered",
    "notice_sent",
)


def delivery_values(*, attempt: Attempt, bot_id: int) -> tuple[Any, ...]:
    """One attempt's row, in _COLUMNS order: metadata only."""
    update = attempt.update or {}
    return (
        bot_id,
        _moment(attempt.received_at),
        _bigint(update.get("update_id")),
        str(update.get("type") or "")[:40],
        _chat_type(attempt)[:16],
        _code(attempt.status) or 0,
        _code(attempt.upstream_status),
        attempt.latency_ms,
        attempt.failure or "",
        attempt.filtered,
        False,
    )


def _insert(rows: list[tuple[Any, ...]]) -> None:
    """Rows straight to the table: a Django model instance per row would cost the drain more than all else.

    PostgreSQL takes them by COPY; other databases by one executemany.
    """
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        placeholders = ", ".join(["%s"] * len(_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608 - names from the model
            [(row[0], adapt(row[1]), *row[2:]) for row in rows],
        )


def deliveries_record(*, attempts: list[Attempt], bots: dict[str, Bot], live: set[int]) -> int:
    """Store a batch's attempts of the bots in ``live``; call inside the drain's transaction."""
    if not settings.DELIVERY_LOG_ENABLED:
        return 0
    rows = []
    failed = []
    for attempt in attempts:
        bot_id = bots[attempt.bot].id
        if bot_id in live:
            rows.append(delivery_values(attempt=attempt, bot_id=bot_id))
            if attempt.failure:
                failed.append((bot_id, attempt.received_at))
    if rows:
        _insert(rows)
    if failed:
        transaction.on_commit(lambda: _notices_mark_stored(failed))
    return len(rows)


def _notices_mark_stored(failed: list[tuple[int, float]]) -> None:
    """Notices sent before their attempt's row existed: mark the rows now that they do.

    Runs once the batch is committed: a failure here must not make the drain take the batch again.
    """
    try:
        keys = {_notice_key(bot_id, at): (bot_id, at) for bot_id, at in failed}
        for key in cache.get_many(list(keys)):
            bot_id, at = keys[key]
            Delivery.objects.filter(bot_id=bot_id, received_at=_moment(at)).update(notice_sent=True)
    except Exception:
        logger.exception("delivery_notices_mark_failed attempts=%d", len(failed))


def delivery_notice_mark(*, bot_id: int, received_at: float) -> None:
    """The user behind the attempt received at ``received_at`` was told the bot is down.

    Called once the notice is sent: it never raises, so the notice task cannot fail (and be retried,
    telling the user twice) over the log.
    """
    if not settings.DELIVERY_LOG_ENABLED:
        return
    try:
        cache.set(_notice_key(bot_id, received_at), 1, timeout=NOTICE_MARK_SECONDS)  # first: see the docstring above
        Delivery.objects.filter(bot_id=bot_id, received_at=_moment(received_at)).update(notice_sent=True)
    except Exception:
        logger.exception("delivery_notice_mark_failed bot=%s", bot_id)


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Forget attempts older than DELIVERY_LOG_DAYS, and each bot's beyond its newest DELIVERY_LOG_MAX_PER_BOT."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DELIVERY_LOG_DAYS)
    deleted, _ = Delivery.objects.filter(received_at__lt=cutoff).delete()
    keep = settings.DELIVERY_LOG_MAX_PER_BOT
    crowded = (
        Delivery.objects.order_by().values("bot_id").annotate(n=Count("id")).filter(n__gt=keep).values_list("bot_id")
    )
    for (bot_id,) in crowded:
        newest = Delivery.objects.filter(bot_id=bot_id).order_by("-received_at", "-id").values("received_at", "id")
        last_kept = next(iter(newest[keep - 1 : keep]), None)
        if last_kept is None:  # pruned meanwhile by another run
            continue
        older = Q(received_at__lt=last_kept["received_at"]) | Q(
            received_at=last_kept["received_at"], id__lt=last_kept["id"]
        )
        deleted += Delivery.objects.filter(older, bot_id=bot_id).delete()[0]
    if deleted:
        logger.info("deliveries_pruned rows=%d", deleted)
    return deleted
