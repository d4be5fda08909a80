"""Bot lifecycle: connect, rotate, disconnect, reconnect, delete.

Pages, the admin, the API and tasks all change bots through these functions.
Telegram calls are never wrapped in a database transaction: each step saves
what it learned first, so a crash between two calls leaves a row that the
next attempt completes (see bot_connect's resume path).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Tenant
from botpresto.bots.models import Bot
from botpresto.core.errors import ApplicationError
from botpresto.core.telegram import (
    PermanentError,
    RateLimited,
    TelegramError,
    TelegramUnavailable,
    TokenRevoked,
    WebhookInfo,
    telegram,
)
from botpresto.core.urlguard import upstream_url_check

logger = logging.getLogger(__name__)

NOTICE_MAX_LENGTH = 200  # answerCallbackQuery shows at most 200 characters
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def proxy_secret_generate() -> str:
    # Telegram allows 1-256 chars of A-Z a-z 0-9 _ -; 48 chars carry ~286 bits.
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(48))


def _secret_check(value: str | None, *, field: str) -> str | None:
    if not value:
        return None
    if len(value) > 256 or any(ch not in _SECRET_ALPHABET for ch in value):
        raise ApplicationError(
            "A webhook secret is 1-256 characters of letters, digits, _ and - (Telegram's rule).", field=field
        )
    return value


def _token_bot_id(token: str) -> int:
    head, sep, rest = token.strip().partition(":")
    if not sep or not head.isdigit() or not rest:
        raise ApplicationError("That does not look like a bot token (it reads 123456:ABC...).", field="token")
    return int(head)


@contextmanager
def telegram_errors(*, field: str | None = None) -> Iterator[None]:
    """Turn Bot API failures into messages an owner can act on."""
    try:
        yield
    except TokenRevoked:
        raise ApplicationError(
            "Telegram does not accept this token: it is invalid or was revoked. "
            "Paste the current token from @BotFather.",
            code="token_invalid",
            field=field,
        ) from None
    except RateLimited as exc:
        raise ApplicationError(
            f"Telegram asks us to slow down; try again in {exc.retry_after} seconds.",
            code="telegram_rate_limited",
            retry_after=exc.retry_after,
        ) from None
    except TelegramUnavailable:
        raise ApplicationError(
            "Telegram cannot be reached right now, so nothing was changed. Try again in a minute.",
            code="telegram_unavailable",
        ) from None
    except PermanentError as exc:
        raise ApplicationError(f"Telegram refused the change: {exc.description}", code="telegram_refused") from None


def _is_our_proxy_url(url: str) -> bool:
    return url.startswith(f"{settings.PUBLIC_URL}/proxy/bot/")


def bot_connect(
    *,
    tenant: Tenant,
    token: str,
    endpoint_secret: str | None = None,
    upstream_url: str | None = None,
    certificate: str | None = None,
    mixpanel_token: str | None = None,
) -> Bot:
    """Take over a bot's webhook with its token, keeping the original to restore."""
    token = token.strip()
    _token_bot_id(token)
    endpoint_secret = _secret_check(endpoint_secret, field="endpoint_secret")
    with telegram_errors(field="token"):
        me = telegram.get_me(token)
    existing = Bot.objects.filter(telegram_id=me.id).first()
    resuming = existing is not None and existing.tenant_id == tenant.id and existing.status == Bot.Status.CONNECTING
    if existing is not None and not resuming:
        raise ApplicationError(
            f"@{me.username} is already connected to BotPresto. Disconnect it there first.",
            code="bot_already_connected",
        )
    with telegram_errors():
        info = telegram.get_webhook_info(token)

    if existing is not None:
        bot = existing  # a crashed attempt: its row already holds the original webhook
        bot.token = token
        if endpoint_secret is not None:
            bot.endpoint_secret = endpoint_secret
        bot.save(update_fields=["token", "endpoint_secret", "updated_at"])
    else:
        bot = _bot_create_from_webhook(
            tenant=tenant,
            token=token,
            me_id=me.id,
            username=me.username,
            name=me.first_name,
            info=info,
            endpoint_secret=endpoint_secret,
            upstream_url=upstream_url,
            certificate=certificate,
            mixpanel_token=mixpanel_token,
        )
    try:
        webhook_register(bot=bot)
    except ApplicationError:
        if not resuming and _webhook_untouched(bot):
            bot.delete()  # nothing changed at Telegram: leave nothing behind
        raise
    logger.info("bot_connected bot=%s telegram_id=%s", bot.uuid, bot.telegram_id)
    return bot


def _bot_create_from_webhook(
    *,
    tenant: Tenant,
    token: str,
    me_id: int,
    username: str,
    name: str,
    info: WebhookInfo,
    endpoint_secret: str | None,
    upstream_url: str | None,
    certificate: str | None,
    mixpanel_token: str | None,
) -> Bot:
    current = "" if _is_our_proxy_url(info.url) else info.url
    upstream = (upstream_url or "").strip() or current
    if not upstream:
        raise ApplicationError(
            "This bot has no webhook (it polls with getUpdates), so tell us your endpoint's URL.",
            code="endpoint_required",
            field="upstream_url",
        )
    upstream_url_check(upstream)
    if current and info.has_custom_certificate and not certificate:
        raise ApplicationError(
            "This bot's webhook uses a self-signed certificate: upload it, so we can verify your endpoint "
            "and restore the webhook exactly.",
            code="certificate_required",
            field="certificate",
        )
    try:
        with transaction.atomic():
            return Bot.objects.create(
                tenant=tenant,
                mode=Bot.Mode.TOKEN,
                status=Bot.Status.CONNECTING,
                telegram_id=me_id,
                username=username,
                name=name,
                token=token,
                endpoint_secret=endpoint_secret,
                proxy_secret=proxy_secret_generate(),
                upstream_url=upstream,
                certificate=(certificate or "").strip(),
                mixpanel_token=mixpanel_token or None,
                original_url=current,
                original_max_connections=info.max_connections if current else None,
                original_allowed_updates=info.allowed_updates,
                original_ip_address=(info.ip_address or "") if current else "",
                original_has_certificate=bool(current and info.has_custom_certificate),
                webhook_info=info.raw,
            )
    except IntegrityError:
        raise ApplicationError(
            f"@{username} is already connected to BotPresto.", code="bot_already_connected"
        ) from None


def _webhook_untouched(bot: Bot) -> bool:
    """True when Telegram surely still points where it did before we started."""
    try:
        info = telegram.get_webhook_info(str(bot.token))
    except TelegramError:
        return False  # unknown: keep the row so a retry can complete it
    return info.url != bot.proxy_url


def bot_create_manual(
    *,
    tenant: Tenant,
    upstream_url: str,
    endpoint_secret: str | None = None,
    mixpanel_token: str | None = None,
    username: str = "",
) -> Bot:
    """Manual mode: the owner keeps the token and sets the webhook themselves."""
    if not (upstream_url or "").strip():
        raise ApplicationError("Tell us your endpoint's URL.", code="endpoint_required", field="upstream_url")
    upstream = upstream_url_check(upstream_url)
    return Bot.objects.create(
        tenant=tenant,
        mode=Bot.Mode.MANUAL,
        status=Bot.Status.WAITING,
        username=username.strip().lstrip("@"),
        endpoint_secret=_secret_check(endpoint_secret, field="endpoint_secret"),
        proxy_secret=proxy_secret_generate(),
        upstream_url=upstream,
        mixpanel_token=mixpanel_token or None,
    )


def set_webhook_command(bot: Bot) -> str:
    """The call a manual-mode owner makes, with their own token in place of <TOKEN>."""
    return (
        f"curl -s '{settings.TELEGRAM_API_URL}/bot<TOKEN>/setWebhook' "
        f"-d 'url={bot.proxy_url}' -d 'secret_token={bot.proxy_secret}'"
    )


def webhook_register(*, bot: Bot, rotate_secret: bool = True) -> Bot:
    """Point the bot's webhook at our proxy (fresh secret), with the original limits."""
    if not bot.is_token_mode or not bot.token:
        raise ApplicationError("This bot is in manual mode: set its webhook yourself.", code="manual_mode")
    if rotate_secret:
        # Saved before the call: should we crash after it, the row holds the secret Telegram now sends.
        bot.proxy_secret = proxy_secret_generate()
        bot.save(update_fields=["proxy_secret", "updated_at"])
    with telegram_errors():
        telegram.set_webhook(
            str(bot.token),
            url=bot.proxy_url,
            secret_token=str(bot.proxy_secret),
            max_connections=bot.original_max_connections,
            allowed_updates=bot.original_allowed_updates,
        )
        info = telegram.get_webhook_info(str(bot.token))
    if info.url != bot.proxy_url:
        raise ApplicationError("Telegram did not keep the new webhook; try again.", code="telegram_refused")
    bot.status = Bot.Status.ACTIVE
    bot.webhook_info = info.raw
    bot.webhook_checked_at = timezone.now()
    bot.save(update_fields=["status", "webhook_info", "webhook_checked_at", "updated_at"])
    return bot


def webhook_restore(*, bot: Bot) -> None:
    """Put the bot's webhook back exactly as it was before we took it (or delete it)."""
    if not bot.is_token_mode or not bot.token:
        raise ApplicationError("This bot is in manual mode: set its webhook yourself.", code="manual_mode")
    token = str(bot.token)
    with telegram_errors():
        if not bot.original_url:
            telegram.delete_webhook(token)
            return
        telegram.set_webhook(
            token,
            url=str(bot.original_url),
            secret_token=str(bot.endpoint_secret) if bot.endpoint_secret else None,
            max_connections=bot.original_max_connections,
            allowed_updates=bot.original_allowed_updates,
            ip_address=bot.original_ip_address or None,
            certificate=bot.certificate.encode() if bot.original_has_certificate and bot.certificate else None,
        )


def bot_token_rotate(*, bot: Bot, new_token: str) -> Bot:
    if not bot.is_token_mode:
        raise ApplicationError("This bot is in manual mode: we do not keep its token.", code="manual_mode")
    new_token = new_token.strip()
    if _token_bot_id(new_token) != bot.telegram_id:
        raise ApplicationError("That token belongs to another bot.", code="token_mismatch", field="token")
    with telegram_errors(field="token"):
        me = telegram.get_me(new_token)
    if me.id != bot.telegram_id:
        raise ApplicationError("That token belongs to another bot.", code="token_mismatch", field="token")
    bot.token = new_token
    bot.username, bot.name = me.username, me.first_name
    bot.save(update_fields=["token", "username", "name", "updated_at"])
    if bot.status not in (Bot.Status.DISCONNECTED, Bot.Status.BYPASSED, Bot.Status.WEBHOOK_CHANGED):
        webhook_register(bot=bot)
    return bot


def bot_disconnect(*, bot: Bot) -> Bot:
    """Give the webhook back to the owner's endpoint; keep the bot and its history."""
    if bot.status == Bot.Status.TOKEN_REVOKED:
        raise ApplicationError(
            "Telegram no longer accepts this bot's token, so its webhook cannot be changed. "
            "Paste the new token first (rotate token), then disconnect.",
            code="token_invalid",
        )
    # A webhook someone else changed is left as it is: restoring ours would overwrite theirs.
    if bot.is_token_mode and bot.status != Bot.Status.WEBHOOK_CHANGED:
        webhook_restore(bot=bot)
    bot.status = Bot.Status.DISCONNECTED
    bot.save(update_fields=["status", "updated_at"])
    logger.info("bot_disconnected bot=%s", bot.uuid)
    return bot


def bot_reconnect(*, bot: Bot, adopt_current: bool = False) -> Bot:
    """Point the webhook at the proxy again.

    With ``adopt_current`` (a webhook changed while we were away) the URL the
    bot has now becomes the original to restore and the endpoint to forward to.
    """
    if not bot.is_token_mode:
        bot.status = Bot.Status.WAITING
        bot.save(update_fields=["status", "updated_at"])
        return bot
    if adopt_current:
        with telegram_errors():
            info = telegram.get_webhook_info(str(bot.token))
        if info.url and not _is_our_proxy_url(info.url):
            upstream_url_check(info.url)
            bot.original_url = bot.upstream_url = info.url
            bot.original_max_connections = info.max_connections
            bot.original_allowed_updates = info.allowed_updates
            bot.original_ip_address = info.ip_address or ""
            bot.save()
    return webhook_register(bot=bot)


def bot_update(*, bot: Bot, data: dict[str, Any]) -> Bot:
    """Change what an owner may edit directly (no Telegram call involved)."""
    fields: list[str] = []
    if "upstream_url" in data:
        bot.upstream_url = upstream_url_check(str(data["upstream_url"]))
        fields.append("upstream_url")
    if "endpoint_secret" in data:
        bot.endpoint_secret = _secret_check(data["endpoint_secret"], field="endpoint_secret")
        fields.append("endpoint_secret")
    if "mixpanel_token" in data:
        bot.mixpanel_token = (data["mixpanel_token"] or "").strip() or None
        fields.append("mixpanel_token")
    if "certificate" in data:
        bot.certificate = (data["certificate"] or "").strip()
        fields.append("certificate")
    if "notices_enabled" in data:
        bot.notices_enabled = bool(data["notices_enabled"])
        fields.append("notices_enabled")
    if "notice_texts" in data:
        bot.notice_texts = _notice_texts_check(data["notice_texts"])
        fields.append("notice_texts")
    if "notice_default_language" in data:
        bot.notice_default_language = _language_check(data["notice_default_language"])
        fields.append("notice_default_language")
    if fields:
        bot.save(update_fields=[*fields, "updated_at"])
    return bot


def _language_check(value: Any) -> str:
    code = str(value or "").strip().lower()
    if not code or len(code) > 16 or not all(ch.isalnum() or ch == "-" for ch in code):
        raise ApplicationError("A language is a code such as en or pt-br.", field="notice_default_language")
    return code


def _notice_texts_check(texts: Any) -> dict[str, str]:
    """Language code → text; an empty text means "use the default notice"."""
    if not isinstance(texts, dict):
        raise ApplicationError("Notice texts map a language code to a text.", field="notice_texts")
    checked: dict[str, str] = {}
    for language, text in texts.items():
        text = str(text or "").strip()
        if not text:
            continue
        if len(text) > NOTICE_MAX_LENGTH:
            raise ApplicationError(
                f"A notice is at most {NOTICE_MAX_LENGTH} characters (Telegram's limit for a button's pop-up); "
                f"the {language} one has {len(text)}.",
                field="notice_texts",
            )
        checked[_language_check(language)] = text
    return checked


def bot_delete(*, bot: Bot) -> None:
    """Restore the original webhook first; only then forget the bot and its data.

    If Telegram cannot be reached the deletion is refused: the bot would be left
    pointing at a proxy that no longer knows it.
    """
    if bot.is_token_mode and bot.status not in (Bot.Status.DISCONNECTED, Bot.Status.WEBHOOK_CHANGED):
        try:
            webhook_restore(bot=bot)
        except ApplicationError as exc:
            if exc.code != "token_invalid":
                raise ApplicationError(
                    f"The bot was not deleted: its original webhook could not be restored. {exc.message}",
                    code=exc.code,
                ) from None
            # A revoked token can no longer change the webhook; nobody can point it back at us either.
    bot_id = bot.uuid
    bot.delete()
    logger.info("bot_deleted bot=%s", bot_id)
