"""Webhook health: what Telegram says about each bot's webhook, and what we do about it.

A connected token-mode bot's webhook is read every WEBHOOK_HEALTH_MINUTES,
spread evenly: each minute the beat checks the bots whose id falls in that
minute's slot. A webhook someone else took or a revoked token is a transition
of the bot's state (botpresto.bots.states), which alerts the owners once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Mod
from django.utils import timezone

from botpresto.bots.models import Bot, MaintenanceWindow
from botpresto.bots.services import webhook_subscription, webhook_subscription_refresh
from botpresto.bots.states import CONNECTED, bot_mark_token_revoked, bot_mark_webhook_changed
from botpresto.bots.subscription import subscribed
from botpresto.core.errors import ApplicationError
from botpresto.core.telegram import RateLimited, TelegramError, TokenRevoked, WebhookInfo, telegram
from botpresto.core.throttle import TELEGRAM_BULK, throttle_acquire, throttle_pause

logger = logging.getLogger(__name__)


def _interval() -> timedelta:
    return timedelta(minutes=settings.WEBHOOK_HEALTH_MINUTES)


def _delivery_problem(bot: Bot, info: WebhookInfo, previous: dict[str, Any], now: datetime) -> bool:
    """Telegram fails to deliver to us, and not because the owner's endpoint fails (that is endpoint health)."""
    if bot.endpoint_failing_since is not None or info.url != bot.proxy_url:
        return False
    if not info.last_error_message or not info.last_error_date:
        return False
    recent = now.timestamp() - info.last_error_date <= 2 * _interval().total_seconds()
    growing = info.pending_update_count > 0 and info.pending_update_count >= int(
        previous.get("pending_update_count") or 0
    )
    return recent and growing


def webhook_health_check(*, bot: Bot) -> str:
    """Read one bot's webhook, keep what Telegram said, act on it; returns what was found."""
    if not bot.is_token_mode or not bot.token or bot.status not in CONNECTED:
        return "not_checked"
    throttle_acquire(bucket=TELEGRAM_BULK, rate=settings.MAINTENANCE_CALLS_PER_SECOND)
    try:
        info = telegram.get_webhook_info(str(bot.token))
    except TokenRevoked:
        bot_mark_token_revoked(bot=bot)
        return "token_revoked"
    except RateLimited as exc:
        throttle_pause(bucket=TELEGRAM_BULK, seconds=exc.retry_after)
        return "unknown"  # checked again at its next turn
    except TelegramError as exc:
        logger.info("webhook_check_failed bot=%s error=%r", bot.uuid, exc.description)
        return "unknown"
    now = timezone.now()
    problem = _delivery_problem(bot, info, bot.webhook_info or {}, now)
    since = (bot.delivery_problem_since or now) if problem else None
    if problem and bot.delivery_problem_since is None:
        logger.warning(
            "webhook_delivery_problem bot=%s pending=%s error=%r",
            bot.uuid,
            info.pending_update_count,
            info.last_error_message,
        )
    elif not problem and bot.delivery_problem_since is not None:
        logger.info("webhook_delivery_recovered bot=%s", bot.uuid)
    Bot.objects.filter(id=bot.id).update(webhook_info=info.raw, webhook_checked_at=now, delivery_problem_since=since)
    bot.webhook_info, bot.webhook_checked_at, bot.delivery_problem_since = info.raw, now, since
    if info.url != bot.proxy_url:
        bot_mark_webhook_changed(bot=bot)
        return "webhook_changed"
    if not subscribed(info.allowed_updates, webhook_subscription(bot=bot)):
        throttle_acquire(bucket=TELEGRAM_BULK, rate=settings.MAINTENANCE_CALLS_PER_SECOND)
        try:
            webhook_subscription_refresh(bot=bot, info=info)
        except ApplicationError as exc:  # tried again at its next turn
            logger.info("webhook_subscription_refresh_failed bot=%s error=%s", bot.uuid, exc.code)
    return "delivery_problem" if problem else "ok"


def webhook_health_due(*, now: datetime | None = None) -> list[int]:
    """Ids of the bots whose turn it is this minute (a slice of 1/WEBHOOK_HEALTH_MINUTES of them)."""
    now = now or timezone.now()
    if MaintenanceWindow.objects.filter(state=MaintenanceWindow.State.BYPASSING).exists():
        return []  # a bot being bypassed would look as if someone else took its webhook
    slots = settings.WEBHOOK_HEALTH_MINUTES
    slot = int(now.timestamp() // 60) % slots
    recently = now - _interval() / 2  # the beat ran twice in a minute, or a slow slice overlaps the next
    return list(
        Bot.objects.filter(mode=Bot.Mode.TOKEN, status__in=CONNECTED)
        .filter(Q(webhook_checked_at__isnull=True) | Q(webhook_checked_at__lt=recently))
        .annotate(slot=Mod("id", slots))
        .filter(slot=slot)
        .order_by("id")
        .values_list("id", flat=True)
    )
