"""One bot's maintenance switch: to its original webhook (bypass) and back to the proxy (reconnect).

Both read the bot's webhook first and act on what Telegram says, not on what
we last stored: a bot already switched (a re-run, or a worker that died after
the call) is not switched twice, and a webhook someone else set is left alone.
The jobs (services_maintenance) and the admin's actions on selected bots both
switch bots through maintenance_bot_switch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from botpresto.bots.health import webhook_health_mark_changed, webhook_health_mark_revoked
from botpresto.bots.models import Bot, MaintenanceSwitch
from botpresto.bots.services import telegram_errors, webhook_register, webhook_restore
from botpresto.core.errors import ApplicationError
from botpresto.core.telegram import WebhookInfo, telegram
from botpresto.core.throttle import TELEGRAM_BULK, throttle_acquire, throttle_pause

logger = logging.getLogger(__name__)

MAX_UNAVAILABLE = 4  # tries of one bot while Telegram cannot be reached
MAX_RATE_LIMITED = 50  # 429s on one bot before it is reported failed
CONNECTED = (Bot.Status.ACTIVE, Bot.Status.FAILING)
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


def _status_set(bot: Bot, status: str) -> None:
    if bot.status != status:
        bot.status = status
        bot.save(update_fields=["status", "updated_at"])


def maintenance_bot_bypass(*, bot: Bot) -> Outcome:
    """Point one bot at its original webhook exactly as it was (or delete it), unless someone else holds it."""
    if not bot.is_token_mode or not bot.token:
        return Outcome(Row.SKIPPED, "manual mode: we do not hold its token")
    if bot.status not in (*CONNECTED, Bot.Status.BYPASSED):
        return Outcome(Row.SKIPPED, f"not connected ({bot.get_status_display().lower()})")
    info = _webhook_read(bot)
    if info.url == bot.proxy_url:
        _acquire()
        webhook_restore(bot=bot)
    elif info.url != str(bot.original_url or ""):
        webhook_health_mark_changed(bot=bot, during_maintenance=True)
        return Outcome(Row.SKIPPED, CHANGED_REASON)
    # else: already on its original webhook (a re-run, or a worker that died after the switch)
    _status_set(bot, Bot.Status.BYPASSED)
    return Outcome(Row.DONE)


def maintenance_bot_reconnect(*, bot: Bot) -> Outcome:
    """Point one bot back at the proxy with a fresh secret, unless its webhook changed meanwhile."""
    if not bot.is_token_mode or not bot.token:
        return Outcome(Row.SKIPPED, "manual mode: we do not hold its token")
    if bot.status not in (*CONNECTED, Bot.Status.BYPASSED):
        return Outcome(Row.SKIPPED, f"not bypassed ({bot.get_status_display().lower()})")
    info = _webhook_read(bot)
    if info.url == bot.proxy_url:
        # Already ours: the bypass never happened, or we died after the switch (the secret was saved before it).
        _status_set(bot, Bot.Status.ACTIVE)
        return Outcome(Row.DONE)
    if info.url != str(bot.original_url or ""):
        webhook_health_mark_changed(bot=bot, during_maintenance=True)
        return Outcome(Row.SKIPPED, CHANGED_REASON)
    _acquire(cost=2)  # setWebhook, then getWebhookInfo to verify
    webhook_register(bot=bot)
    return Outcome(Row.DONE)


def maintenance_bot_switch(*, bot: Bot, direction: str, touch: Callable[[], None] | None = None) -> Outcome:
    """Switch one bot, waiting out 429s and short outages. Telegram's failures become the outcome."""
    switch = maintenance_bot_bypass if direction == Direction.BYPASS else maintenance_bot_reconnect
    unavailable = limited = 0
    while True:
        try:
            return switch(bot=bot)
        except ApplicationError as exc:
            if exc.code == "token_invalid":
                webhook_health_mark_revoked(bot=bot)
                return Outcome(Row.SKIPPED, "token revoked: the owner was asked for a new one")
            if exc.code == "telegram_rate_limited" and limited < MAX_RATE_LIMITED:
                limited += 1
                wait = float(exc.retry_after or 1)
                throttle_pause(bucket=TELEGRAM_BULK, seconds=wait)  # every worker slows down, not only this one
                logger.info("maintenance_rate_limited bot=%s retry_after=%s", bot.uuid, wait)
                time.sleep(wait)
            elif exc.code == "telegram_unavailable" and unavailable < MAX_UNAVAILABLE:
                unavailable += 1
                time.sleep(2**unavailable / 2)
            else:
                return Outcome(Row.FAILED, exc.message)
        if touch is not None:
            touch()
