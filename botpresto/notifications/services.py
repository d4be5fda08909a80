"""Alert channels: a person's choices, their Telegram link, an organisation's alert webhook.

Pages and the API change them through these functions only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Tenant
from botpresto.core.errors import ApplicationError
from botpresto.core.telegram import TelegramError, telegram
from botpresto.core.urlguard import upstream_url_check
from botpresto.notifications.channels import ChannelUnavailable, webhook_secret_generate, webhook_send
from botpresto.notifications.models import ALL_KINDS, AlertChannels, AlertWebhook, TelegramLink

logger = logging.getLogger(__name__)

LINK_MAX_AGE = timedelta(hours=1)
USERNAME_CACHE = "alert_bot:username"


def _kinds(kinds: Iterable[Any], *, field: str) -> list[str]:
    chosen = [str(kind) for kind in kinds]
    unknown = sorted(set(chosen) - set(ALL_KINDS))
    if unknown:
        raise ApplicationError(f"Unknown alert kind {unknown[0]!r}: one of {', '.join(ALL_KINDS)}.", field=field)
    return [kind for kind in ALL_KINDS if kind in chosen]


def alert_channels_update(
    *, user: User, email_kinds: Iterable[Any] | None = None, telegram_kinds: Iterable[Any] | None = None
) -> AlertChannels:
    channels, _ = AlertChannels.objects.get_or_create(user=user)
    if email_kinds is not None:
        channels.email_kinds = _kinds(email_kinds, field="email_kinds")
    if telegram_kinds is not None:
        channels.telegram_kinds = _kinds(telegram_kinds, field="telegram_kinds")
    channels.save()
    return channels


# --- the Telegram alert bot --------------------------------------------------------------------
def alert_bot_secret() -> str:
    """The secret Telegram sends with the alert bot's updates: derived, so nothing more to configure."""
    key = f"{settings.SECRET_KEY}:alert-bot".encode()
    return hmac.new(key, settings.ALERT_BOT_TOKEN.encode(), hashlib.sha256).hexdigest()[:48]


def alert_bot_username() -> str:
    """The alert bot's @username (for its deep links), asked of Telegram once a day."""
    if not settings.ALERT_BOT_TOKEN:
        raise ApplicationError("Telegram alerts are not set up on this service.", code="alert_bot_off")
    username = cache.get(USERNAME_CACHE)
    if not username:
        try:
            username = telegram.get_me(settings.ALERT_BOT_TOKEN).username
        except TelegramError:
            raise ApplicationError(
                "Telegram cannot be reached right now; try again in a minute.", code="telegram_unavailable"
            ) from None
        cache.set(USERNAME_CACHE, username, timeout=24 * 3600)
    return str(username)


def alert_bot_setup() -> str:
    """Point the alert bot's webhook at this service (run once by the operator); returns the URL."""
    url = f"{settings.PUBLIC_URL}{reverse('alert_bot_webhook')}"
    telegram.set_webhook(
        settings.ALERT_BOT_TOKEN,
        url=url,
        secret_token=alert_bot_secret(),
        allowed_updates=["message", "my_chat_member"],
    )
    return url


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def telegram_link_create(*, user: User) -> str:
    """A one-time deep link to the alert bot that links whoever opens it to ``user`` (valid an hour)."""
    username = alert_bot_username()
    token = secrets.token_urlsafe(32)  # 43 characters of A-Z a-z 0-9 _ -: a /start payload
    TelegramLink.objects.create(user=user, token_hash=_hash(token))
    return f"https://t.me/{username}?start={token}"


def telegram_link_use(*, token: str, chat_id: int, name: str) -> User | None:
    """Link the chat to the person the token belongs to, once; None for a used, old or unknown token."""
    now = timezone.now()
    with transaction.atomic():
        link = TelegramLink.objects.select_related("user").filter(token_hash=_hash(token)).first()
        if link is None or link.created_at < now - LINK_MAX_AGE:
            return None
        if not TelegramLink.objects.filter(id=link.id, used_at__isnull=True).update(used_at=now):
            return None
        AlertChannels.objects.update_or_create(
            user=link.user,
            defaults={"telegram_chat_id": chat_id, "telegram_name": name[:64], "telegram_linked_at": now},
        )
    logger.info("alert_telegram_linked user=%s", link.user_id)
    return link.user


def telegram_unlink(*, user: User | None = None, chat_id: int | None = None) -> int:
    """Forget the person's Telegram (from their profile), or every link of a chat (/stop, the bot blocked)."""
    linked = AlertChannels.objects.filter(telegram_chat_id__isnull=False)
    linked = linked.filter(user=user) if user is not None else linked.filter(telegram_chat_id=chat_id)
    return linked.update(telegram_chat_id=None, telegram_name="", telegram_linked_at=None)


# --- an organisation's alert webhook -------------------------------------------------------------
def alert_webhook_save(*, tenant: Tenant, url: str, kinds: Iterable[Any] | None = None) -> AlertWebhook:
    checked = upstream_url_check(str(url or ""), field="url")
    hook = AlertWebhook.objects.filter(tenant=tenant).first() or AlertWebhook(
        tenant=tenant, secret=webhook_secret_generate()
    )
    hook.url = checked
    if kinds is not None:
        hook.kinds = _kinds(kinds, field="kinds")
    hook.save()
    logger.info("alert_webhook_saved tenant=%s", tenant.id)
    return hook


def alert_webhook_secret_rotate(*, hook: AlertWebhook) -> AlertWebhook:
    hook.secret = webhook_secret_generate()
    hook.save()
    logger.info("alert_webhook_secret_rotated tenant=%s", hook.tenant_id)
    return hook


def alert_webhook_delete(*, hook: AlertWebhook) -> None:
    tenant_id = hook.tenant_id
    hook.delete()
    logger.info("alert_webhook_deleted tenant=%s", tenant_id)


def alert_webhook_test(*, hook: AlertWebhook) -> int:
    """Send a signed test event now; returns the status it got (ApplicationError when none came)."""
    text = f"BotPresto: a test of {hook.tenant.name}'s alert webhook."
    body = {"text": text, "content": text, "event": {"id": "test", "kind": "test", "organisation": hook.tenant.name}}
    try:
        status = webhook_send(hook=hook, body=body, msg_id=f"test_{secrets.token_hex(8)}")
    except ChannelUnavailable as exc:
        raise ApplicationError(f"The webhook did not take the test ({exc}).", code="webhook_unavailable") from None
    if not status:
        raise ApplicationError("The webhook's address is private or reserved: nothing was sent.", field="url")
    return status
