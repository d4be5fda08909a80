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

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
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


def delivery_row(*, attempt: Attempt, bot_id: int) -> Delivery:
    update = attempt.update or {}
    return Delivery(
        bot_id=bot_id,
        received_at=_moment(attempt.received_at),
        update_id=update.get("update_id"),
        update_type=str(update.get("type") or "")[:40],
        chat_type=_chat_type(attempt)[:16],
        status=_code(attempt.status) or 0,
        upstream_status=_code(attempt.upstream_status),
        latency_ms=attempt.latency_ms,
        failure=attempt.failure or "",
        filtered=attempt.filtered,
    )


def deliveries_record(*, attempts: list[Attempt], bots: dict[str, Bot], live: set[int]) -> int:
    """Store a batch's attempts of the bots in ``live``; call inside the drain's transaction."""
    if not settings.DELIVERY_LOG_ENABLED:
        return 0
    kept = [a for a in attempts if bots[a.bot].id in live]
    Delivery.objects.bulk_create([delivery_row(attempt=a, bot_id=bots[a.bot].id) for a in kept], batch_size=2000)
    failed = [(bots[a.bot].id, a.received_at) for a in kept if a.failure]
    if failed:
        transaction.on_commit(lambda: _notices_mark_stored(failed))
    return len(kept)


def _notices_mark_stored(failed: list[tuple[int, float]]) -> None:
    """Notices sent before their attempt's row existed: mark the rows now that they do."""
    keys = {_notice_key(bot_id, at): (bot_id, at) for bot_id, at in failed}
    for key in cache.get_many(list(keys)):
        bot_id, at = keys[key]
        Delivery.objects.filter(bot_id=bot_id, received_at=_moment(at)).update(notice_sent=True)


def delivery_notice_mark(*, bot_id: int, received_at: float) -> None:
    """The user behind the attempt received at ``received_at`` was told the bot is down."""
    if not settings.DELIVERY_LOG_ENABLED:
        return
    cache.set(_notice_key(bot_id, received_at), 1, timeout=NOTICE_MARK_SECONDS)  # first: see the module's docstring
    Delivery.objects.filter(bot_id=bot_id, received_at=_moment(received_at)).update(notice_sent=True)


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Forget attempts older than DELIVERY_LOG_DAYS, and each bot's beyond its newest DELIVERY_LOG_MAX_PER_BOT."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DELIVERY_LOG_DAYS)
    deleted, _ = Delivery.objects.filter(received_at__lt=cutoff).delete()
    keep = settings.DELIVERY_LOG_MAX_PER_BOT
    crowded = (
        Delivery.objects.order_by().values("bot_id").annotate(n=Count("id")).filter(n__gt=keep).values_list("bot_id")
    )
    for (bot_id,) in crowded:
        last_kept = (
            Delivery.objects.filter(bot_id=bot_id).order_by("-received_at", "-id").values("received_at", "id")[keep - 1]
        )
        older = Q(received_at__lt=last_kept["received_at"]) | Q(
            received_at=last_kept["received_at"], id__lt=last_kept["id"]
        )
        deleted += Delivery.objects.filter(older, bot_id=bot_id).delete()[0]
    if deleted:
        logger.info("deliveries_pruned rows=%d", deleted)
    return deleted
