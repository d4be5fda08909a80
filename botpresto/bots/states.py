"""A bot's status and its endpoint's health: every change of either, in one place.

Each transition is one conditional UPDATE whose WHERE names the states it may leave,
and says whether it changed anything: of two processes racing on one bot exactly one
wins, and only the winner does what the change entails, the owners' alert (recorded
in the same transaction, sent once by a task) and the audit line. ``updated_at``
moves with every change, so every web process's route table sees it within a second.
Nothing outside this module writes ``Bot.status`` (a test checks).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from botpresto.bots.models import Bot
from botpresto.notifications.alerts import alert_record
from botpresto.notifications.models import OwnerAlert

logger = logging.getLogger(__name__)

S = Bot.Status
Kind = OwnerAlert.Kind

STORED = frozenset(S) - {S.FAILING}  # FAILING is shown, never stored (see Bot.shown_status)
# Token mode, and the webhook points at us as far as we know: health checks read these.
CONNECTED = frozenset({S.ACTIVE})
# The webhook is ours, or ours to take back after maintenance.
HELD = frozenset({S.ACTIVE, S.BYPASSED})
# We call Telegram with the token in these: a 401 means the owner must give us a new one.
TOKEN_IN_USE = frozenset({S.CONNECTING, S.ACTIVE, S.BYPASSED, S.WEBHOOK_CHANGED})
# Updates are expected through us: a failing endpoint here is worth an alert.
LIVE = frozenset({S.CONNECTING, S.ACTIVE, S.WAITING, S.SILENT})
# Manual mode: what the minute's refresh moves between, by the time of the last update.
MANUAL_WATCHED = frozenset({S.ACTIVE, S.WAITING, S.SILENT})


def bot_insert(**fields: Any) -> Bot:
    """A new bot row in its first state: connecting until its webhook is ours (token mode), or
    waiting for its first update (manual mode)."""
    status = S.CONNECTING if fields["mode"] == Bot.Mode.TOKEN else S.WAITING
    bot = Bot.objects.create(status=status, **fields)
    logger.info("bot_status bot=%s status=%s cause=created", bot.uuid, status)
    return bot


def _move(
    bot: Bot,
    *,
    to: str,
    leaving: Collection[str],
    cause: str,
    alert: tuple[str, dict[str, Any]] | None = None,
    **fields: Any,
) -> bool:
    now = timezone.now()
    with transaction.atomic():
        changed = Bot.objects.filter(id=bot.id, status__in=leaving).update(status=to, updated_at=now, **fields)
        if changed and alert is not None:
            alert_record(tenant_id=bot.tenant_id, bot_id=bot.id, kind=alert[0], details=alert[1])
    if changed:
        bot.status, bot.updated_at = to, now
        for name, value in fields.items():
            setattr(bot, name, value)
        logger.info("bot_status bot=%s status=%s cause=%s", bot.uuid, to, cause)
    return bool(changed)


def bot_mark_active(*, bot: Bot, webhook_info: dict[str, Any]) -> bool:
    """Our webhook is registered and verified (connect, reconnect, new token, end of maintenance)."""
    checked_at = timezone.now()
    if _move(
        bot,
        to=S.ACTIVE,
        leaving=STORED - {S.ACTIVE},
        cause="webhook_registered",
        webhook_info=webhook_info,
        webhook_checked_at=checked_at,
    ):
        return True
    # Already active (a new secret, a new token): keep what Telegram said.
    Bot.objects.filter(id=bot.id).update(
        updated_at=timezone.now(), webhook_info=webhook_info, webhook_checked_at=checked_at
    )
    bot.webhook_info, bot.webhook_checked_at = webhook_info, checked_at
    return False


def bot_mark_disconnected(*, bot: Bot) -> bool:
    """The owner's webhook is back (or was never ours): we stop taking it over."""
    return _move(bot, to=S.DISCONNECTED, leaving=STORED - {S.DISCONNECTED}, cause="disconnected")


def bot_mark_waiting(*, bot: Bot) -> bool:
    """Manual mode, asked to reconnect: the owner sets the webhook; the first update makes it active."""
    return _move(bot, to=S.WAITING, leaving=STORED - {S.WAITING}, cause="manual_reconnect")


def bot_mark_bypassed(*, bot: Bot) -> bool:
    """Maintenance: the bot's own webhook is restored while we are away."""
    return _move(bot, to=S.BYPASSED, leaving={S.ACTIVE}, cause="maintenance_bypass")


def bot_mark_webhook_changed(*, bot: Bot, during_maintenance: bool = False) -> bool:
    """Someone else set the bot's webhook: we leave it and tell the owners, once."""
    alert = (Kind.WEBHOOK_CHANGED, {"during_maintenance": during_maintenance})
    return _move(bot, to=S.WEBHOOK_CHANGED, leaving=HELD, cause="webhook_changed", alert=alert)


def bot_mark_token_revoked(*, bot: Bot) -> bool:
    """Telegram refuses the token: stop using it, ask the owners for the new one, once."""
    if not bot.is_token_mode:
        return False
    return _move(bot, to=S.TOKEN_REVOKED, leaving=TOKEN_IN_USE, cause="token_revoked", alert=(Kind.TOKEN_REVOKED, {}))


def bot_endpoint_failing(*, bot: Bot, since: float, details: Mapping[str, Any]) -> bool:
    """A streak of failed forwards that started at ``since`` reached the alert threshold.

    Only a streak that began after the last recovery counts: a late report of an
    old streak must not turn a recovered bot failing again.
    """
    moment = datetime.fromtimestamp(since, tz=UTC)
    now = timezone.now()
    with transaction.atomic():
        changed = (
            Bot.objects.filter(id=bot.id, status__in=LIVE, endpoint_failing_since__isnull=True)
            .filter(Q(endpoint_recovered_at__isnull=True) | Q(endpoint_recovered_at__lt=moment))
            .update(endpoint_failing_since=moment, updated_at=now)
        )
        if changed:
            alert_record(tenant_id=bot.tenant_id, bot_id=bot.id, kind=Kind.FAILING, details={**details, "since": since})
    if changed:
        bot.endpoint_failing_since, bot.updated_at = moment, now
        logger.warning(
            "bot_endpoint_failing bot=%s since=%s error=%s", bot.uuid, moment.isoformat(), details.get("error")
        )
    return bool(changed)


def bot_endpoint_recovered(*, bot: Bot, at: float, held: int = 0) -> bool:
    """An update went through at ``at`` after the streak began: the owners hear it is over, once."""
    moment = datetime.fromtimestamp(at, tz=UTC)
    now = timezone.now()
    with transaction.atomic():
        failing_since = (
            Bot.objects.filter(id=bot.id, endpoint_failing_since__lte=moment)
            .values_list("endpoint_failing_since", flat=True)
            .first()
        )
        changed = failing_since is not None and bool(
            Bot.objects.filter(id=bot.id, endpoint_failing_since=failing_since).update(
                endpoint_failing_since=None, endpoint_recovered_at=moment, updated_at=now
            )
        )
        if changed:
            assert failing_since is not None
            details = {"since": failing_since.timestamp(), "until": at, "held": held}
            alert_record(tenant_id=bot.tenant_id, bot_id=bot.id, kind=Kind.RECOVERED, details=details)
    if changed:
        bot.endpoint_failing_since, bot.endpoint_recovered_at, bot.updated_at = None, moment, now
        logger.info("bot_endpoint_recovered bot=%s", bot.uuid)
    return changed


def bots_last_update_mark(*, latest: Mapping[int, float]) -> None:
    """Keep each bot's time of last update, only forward (batches may arrive out of order)."""
    for bot_id, received_at in latest.items():
        moment = datetime.fromtimestamp(received_at, tz=UTC)
        Bot.objects.filter(Q(last_update_at__isnull=True) | Q(last_update_at__lt=moment), id=bot_id).update(
            last_update_at=moment
        )


def bots_manual_refresh(*, now: datetime | None = None) -> int:
    """Manual mode: waiting (never an update), silent (none for MANUAL_SILENT_HOURS) or active."""
    now = now or timezone.now()
    silent_before = now - timedelta(hours=settings.MANUAL_SILENT_HOURS)
    manual = Bot.objects.filter(mode=Bot.Mode.MANUAL)
    moves = [
        (S.WAITING, {S.ACTIVE, S.SILENT}, Q(last_update_at__isnull=True)),
        (S.SILENT, {S.ACTIVE, S.WAITING}, Q(last_update_at__lt=silent_before)),
        (S.ACTIVE, {S.WAITING, S.SILENT}, Q(last_update_at__gte=silent_before)),
    ]
    changed = 0
    for to, leaving, when in moves:
        moved = manual.filter(when, status__in=leaving).update(status=to, updated_at=now)
        if moved:
            logger.info("bot_status bots=%d status=%s cause=manual_refresh", moved, to)
        changed += moved
    return changed
