"""One bot's maintenance switch: to its original webhook (bypass) and back to the proxy (reconnect).

Both read the bot's webhook first and act on what Telegram says, not on what
we last stored: a bot already switched (a re-run, or a worker that died after
the call) is not switched twice, and a webhook someone else set is left alone.
The maintenance jobs (bots.maintenance) and staff bulk actions (bots.jobs) both
switch bots through maintenance_bot_switch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from botpresto.bots.models import Bot, MaintenanceSwitch
from botpresto.bots.services import telegram_errors, webhook_register, webhook_restore
from botpresto.bots.states import (
    HELD,
    bot_mark_active,
    bot_mark_bypassed,
    bot_mark_token_revoked,
    bot_mark_webhook_changed,
)
from botpresto.core.errors import ApplicationError
from botpresto.core.telegram import RateLimited, TelegramUnavailable, WebhookInfo, telegram
from botpresto.core.throttle import TELEGRAM_BULK, throttle_acquire, throttle_pause

logger = logging.getLogger(__name__)

CHANGED_REASON = "webhook changed: someone else set it, the owner was told"
Direction = MaintenanceSwitch.Direction
Row = MaintenanceSwitch.State


@dataclass(frozen=True)
class Outcome:
    state: str
    reason: str = ""


def _acquire(cost: int = 1) -> None:
    throttle_acquire(bucket=TELEGRAM_BULK, rate=settings.MAINTENANCE_CALLS_PER_SECOND, cost=cost)


def _webhook_read(bot: Bot) -> WebhookInfo:
    _acquire()
    with telegram_errors():
        return telegram.get_webhook_info(str(bot.token))


def maintenance_bot_bypass(*, bot: Bot) -> Outcome:
    """Point one bot at its original webhook exactly as it was (or delete it), unless someone else holds it."""
    if not bot.is_token_mode or not bot.token:
        return Outcome(Row.SKIPPED, "manual mode: we do not hold its token")
    if bot.status not in HELD:
        return Outcome(Row.SKIPPED, f"not connected ({bot.get_status_display().lower()})")
    info = _webhook_read(bot)
    if info.url == bot.proxy_url:
        _acquire()
        webhook_restore(bot=bot)
    elif info.url != str(bot.original_url or ""):
        bot_mark_webhook_changed(bot=bot, during_maintenance=True)
        return Outcome(Row.SKIPPED, CHANGED_REASON)
    # else: already on its original webhook (a re-run, or a worker that died after the switch)
    bot_mark_bypassed(bot=bot)
    return Outcome(Row.DONE)


def maintenance_bot_reconnect(*, bot: Bot) -> Outcome:
    """Point one bot back at the proxy with a fresh secret, unless its webhook changed meanwhile."""
    if not bot.is_token_mode or not bot.token:
        return Outcome(Row.SKIPPED, "manual mode: we do not hold its token")
    if bot.status not in HELD:
        return Outcome(Row.SKIPPED, f"not bypassed ({bot.get_status_display().lower()})")
    info = _webhook_read(bot)
    if info.url == bot.proxy_url:
        # Already ours: the bypass never happened, or we died after the switch (the secret was saved before it).
        bot_mark_active(bot=bot, webhook_info=info.raw)
        return Outcome(Row.DONE)
    if info.url != str(bot.original_url or ""):
        bot_mark_webhook_changed(bot=bot, during_maintenance=True)
        return Outcome(Row.SKIPPED, CHANGED_REASON)
    _acquire(cost=2)  # setWebhook, then getWebhookInfo to verify
    webhook_register(bot=bot)
    return Outcome(Row.DONE)


def maintenance_bot_switch(*, bot: Bot, direction: str) -> Outcome:
    """Switch one bot; Telegram's refusals become the outcome.

    Telegram away, or asking us to wait (which pauses every worker's bulk calls), is
    raised as TelegramUnavailable or RateLimited for the caller to try the bot again later.
    """
    switch = maintenance_bot_bypass if direction == Direction.BYPASS else maintenance_bot_reconnect
    try:
        return switch(bot=bot)
    except ApplicationError as exc:
        if exc.code == "token_invalid":
            bot_mark_token_revoked(bot=bot)
            return Outcome(Row.SKIPPED, "token revoked: the owner was asked for a new one")
        if exc.code == "telegram_rate_limited":
            wait = float(exc.retry_after or 1)
            throttle_pause(bucket=TELEGRAM_BULK, seconds=wait)  # every worker slows down, not only this one
            raise RateLimited("maintenance", exc.message, int(wait)) from None
        if exc.code == "telegram_unavailable":
            raise TelegramUnavailable("maintenance", exc.message) from None
        return Outcome(Row.FAILED, exc.message)
