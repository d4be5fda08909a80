"""Bot lifecycle: create (with the token or in manual mode), rotate the token, disconnect,
reconnect, edit, delete.

Pages, the admin, the API and tasks all change bots through these functions, and the
status changes they cause go through botpresto.bots.states. Telegram calls are never
wrapped in a database transaction: each step saves what it learned first, so a crash
between two calls leaves a row that the next attempt completes (see the resume path
of _bot_connect).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import Tenant
from botpresto.bots import states
from botpresto.bots.models import Bot
from botpresto.bots.subscription import allowed_updates_to_restore, subscribed, subscription_for
from botpresto.bots.validation import (
    SECRET_ALPHABET,
    certificate_check,
    language_check,
    mixpanel_token_check,
    notice_texts_check,
    secret_check,
    token_check,
    url_check,
    username_check,
)
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

logger = logging.getLogger(__name__)

S = Bot.Status
EDITABLE = (
    "upstream_url",
    "endpoint_secret",
    "certificate",
    "mixpanel_token",
    "notices_enabled",
    "notice_texts",
    "notice_default_language",
    "back_enabled",
    "back_texts",
)


def proxy_secret_generate() -> str:
    # Telegram allows 1-256 chars of A-Z a-z 0-9 _ -; 48 chars carry ~286 bits.
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(48))


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
            http_status=429,
        ) from None
    except TelegramUnavailable:
        raise ApplicationError(
            "Telegram cannot be reached right now, so nothing was changed. Try again in a minute.",
            code="telegram_unavailable",
            http_status=503,
        ) from None
    except PermanentError as exc:
        raise ApplicationError(f"Telegram refused the change: {exc.description}", code="telegram_refused") from None


def _bots_limit_check(*, tenant: Tenant, lock: bool = False) -> None:
    """Refuse a new bot once the tenant has BOTS_PER_TENANT_MAX.

    Checked before any call to Telegram (a clear answer at once), then again under a lock of the
    tenant's row in the transaction that inserts, so two connects at once cannot both pass.
    """
    if lock:
        Tenant.objects.select_for_update().filter(id=tenant.id).exists()
    limit = settings.BOTS_PER_TENANT_MAX
    if Bot.objects.filter(tenant=tenant).count() >= limit:
        raise ApplicationError(
            f"{tenant.name} has {limit} bots, the most one organisation may have. Delete one, or ask us for more.",
            code="bot_limit_reached",
            http_status=409,
        )


def _is_our_proxy_url(url: str) -> bool:
    return url.startswith(f"{settings.PROXY_URL or settings.PUBLIC_URL}/proxy/bot/")


def bot_create(
    *,
    tenant: Tenant,
    mode: str | None = None,
    token: str | None = None,
    upstream_url: str | None = None,
    endpoint_secret: str | None = None,
    certificate: str | bytes | None = None,
    mixpanel_token: str | None = None,
    username: str | None = None,
) -> Bot:
    """The one way a bot is added: with its token we take its webhook over; without, manual mode.

    ``mode`` holds the caller to one of the two (the pages have one form each); without
    it, a token chooses token mode.
    """
    _bots_limit_check(tenant=tenant)
    if mode == Bot.Mode.TOKEN or (mode is None and str(token or "").strip()):
        return _bot_connect(
            tenant=tenant,
            token=str(token),
            upstream_url=upstream_url,
            endpoint_secret=endpoint_secret,
            certificate=certificate,
            mixpanel_token=mixpanel_token,
        )
    if mode is None and not str(upstream_url or "").strip():
        raise ApplicationError(
            "Paste the bot's token from @BotFather. To keep the token to yourself, give your endpoint's URL "
            "instead (manual mode).",
            code="token_required",
            field="token",
        )
    fields = {
        "username": username_check(username),
        "endpoint_secret": secret_check(endpoint_secret),
        "upstream_url": url_check(upstream_url),
        "certificate": certificate_check(certificate),
        "mixpanel_token": mixpanel_token_check(mixpanel_token),
    }
    with transaction.atomic():
        _bots_limit_check(tenant=tenant, lock=True)
        bot = states.bot_insert(tenant=tenant, mode=Bot.Mode.MANUAL, proxy_secret=proxy_secret_generate(), **fields)
    logger.info("bot_created bot=%s mode=manual", bot.uuid)
    return bot


def _bot_connect(
    *,
    tenant: Tenant,
    token: str,
    upstream_url: str | None,
    endpoint_secret: str | None,
    certificate: str | bytes | None,
    mixpanel_token: str | None,
) -> Bot:
    """Take over a bot's webhook with its token, keeping the original to restore."""
    checked = token_check(token)
    secret = secret_check(endpoint_secret)
    pem = certificate_check(certificate)
    mixpanel = mixpanel_token_check(mixpanel_token)
    upstream = url_check(upstream_url) if str(upstream_url or "").strip() else None
    with telegram_errors(field="token"):
        me = telegram.get_me(checked.value)
    existing = Bot.objects.filter(telegram_id=me.id).first()
    resuming = existing is not None and existing.tenant_id == tenant.id and existing.status == S.CONNECTING
    if existing is not None and not resuming:
        _refuse_connected(existing, tenant=tenant, username=me.username)
    with telegram_errors():
        info = telegram.get_webhook_info(checked.value)

    if existing is not None:
        bot = existing  # a crashed attempt: its row already holds the original webhook
        bot.token = checked.value
        if secret is not None:
            bot.endpoint_secret = secret
        bot.save(update_fields=["token", "endpoint_secret", "updated_at"])
    else:
        bot = _bot_create_from_webhook(
            tenant=tenant,
            token=checked.value,
            me_id=me.id,
            username=me.username,
            name=me.first_name,
            info=info,
            endpoint_secret=secret,
            upstream_url=upstream,
            certificate=pem,
            mixpanel_token=mixpanel,
        )
    try:
        webhook_register(bot=bot, rotate_secret=False)
    except ApplicationError:
        if not resuming and _webhook_untouched(bot):
            bot.delete()  # nothing changed at Telegram: leave nothing behind
        raise
    logger.info("bot_connected bot=%s telegram_id=%s", bot.uuid, bot.telegram_id)
    return bot


def _refuse_connected(existing: Bot, *, tenant: Tenant, username: str) -> None:
    if existing.tenant_id == tenant.id:
        raise ApplicationError(
            f"@{username} is already connected here.", code="bot_already_connected", field="token", http_status=409
        )
    # Whether another tenant has it is not ours to tell.
    raise ApplicationError(
        f"@{username} cannot be connected. If it is yours, ask @BotFather for a new token and try again later.",
        code="bot_unavailable",
        field="token",
        http_status=409,
    )


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
    certificate: str,
    mixpanel_token: str | None,
) -> Bot:
    current = "" if _is_our_proxy_url(info.url) else info.url
    upstream = upstream_url or (url_check(current) if current else "")
    if not upstream:
        raise ApplicationError(
            "This bot has no webhook (it polls with getUpdates), so tell us your endpoint's URL.",
            code="endpoint_required",
            field="upstream_url",
        )
    if current and info.has_custom_certificate and not certificate:
        raise ApplicationError(
            "This bot's webhook uses a self-signed certificate: upload it, so we can verify your endpoint "
            "and restore the webhook exactly.",
            code="certificate_required",
            field="certificate",
        )
    try:
        with transaction.atomic():
            _bots_limit_check(tenant=tenant, lock=True)
            return states.bot_insert(
                tenant=tenant,
                mode=Bot.Mode.TOKEN,
                telegram_id=me_id,
                username=username,
                name=name,
                token=token,
                endpoint_secret=endpoint_secret,
                proxy_secret=proxy_secret_generate(),
                upstream_url=upstream,
                certificate=certificate,
                mixpanel_token=mixpanel_token,
                original_url=current,
                original_max_connections=info.max_connections if current else None,
                original_allowed_updates=info.allowed_updates,
                original_ip_address=(info.ip_address or "") if current else "",
                original_has_certificate=bool(current and info.has_custom_certificate),
                webhook_info=info.raw,
            )
    except IntegrityError:  # the same bot, connected a moment ago by someone else
        raise ApplicationError(
            f"@{username} cannot be connected right now.", code="bot_unavailable", field="token", http_status=409
        ) from None


def _webhook_untouched(bot: Bot) -> bool:
    """True when Telegram surely still points where it did before we started."""
    try:
        info = telegram.get_webhook_info(str(bot.token))
    except TelegramError:
        return False  # unknown: keep the row so a retry can complete it
    return info.url != bot.proxy_url


def set_webhook_command(bot: Bot) -> str:
    """The call a manual-mode owner makes, with their own token in place of <TOKEN>."""
    return (
        f"curl -s '{settings.TELEGRAM_API_URL}/bot<TOKEN>/setWebhook' "
        f"-d 'url={bot.proxy_url}' -d 'secret_token={bot.proxy_secret}'"
    )


def _token_mode_required(bot: Bot) -> str:
    if not bot.is_token_mode or not bot.token:
        raise ApplicationError("This bot is in manual mode: set its webhook yourself.", code="manual_mode")
    return str(bot.token)


def webhook_subscription(*, bot: Bot) -> list[str]:
    """The update types a webhook of ours registers (botpresto.bots.subscription)."""
    return subscription_for(
        original_url=str(bot.original_url or ""), original=bot.original_allowed_updates
    ).allowed_updates


def webhook_register(*, bot: Bot, rotate_secret: bool = True) -> Bot:
    """Point the bot's webhook at our proxy with the original limits, verify it, mark the bot active.

    It is subscribed to the owner's update types and those the analytics need
    (botpresto.bots.subscription); the proxy forwards only the owner's.

    A fresh secret is saved before the call, so should we crash after it the row holds
    the secret Telegram now sends; until the call, Telegram's updates carry the old one,
    which the proxy refuses with 401, and Telegram retries them with the new one.
    """
    token = _token_mode_required(bot)
    if rotate_secret:
        bot.proxy_secret = proxy_secret_generate()
        bot.save(update_fields=["proxy_secret", "updated_at"])
    with telegram_errors():
        telegram.set_webhook(
            token,
            url=bot.proxy_url,
            secret_token=str(bot.proxy_secret),
            max_connections=bot.original_max_connections,
            allowed_updates=webhook_subscription(bot=bot),
        )
        info = telegram.get_webhook_info(token)
    if info.url != bot.proxy_url:
        raise ApplicationError("Telegram did not keep the new webhook; try again.", code="telegram_refused")
    states.bot_mark_active(bot=bot, webhook_info=info.raw)
    return bot


def webhook_subscription_refresh(*, bot: Bot, info: WebhookInfo) -> bool:
    """Subscribe a webhook of ours to what it should be, if Telegram reports otherwise (bots connected before
    the analytics asked for more); the URL, our secret and the limits stay. Returns whether it changed."""
    wanted = webhook_subscription(bot=bot)
    if info.url != bot.proxy_url or subscribed(info.allowed_updates, wanted):
        return False
    with telegram_errors():
        telegram.set_webhook(
            _token_mode_required(bot),
            url=bot.proxy_url,
            secret_token=str(bot.proxy_secret),
            max_connections=bot.original_max_connections,
            allowed_updates=wanted,
        )
    logger.info("webhook_subscription_refreshed bot=%s", bot.uuid)
    return True


def webhook_restore(*, bot: Bot) -> None:
    """Put the bot's webhook back exactly as it was before we took it (or delete it).

    ``allowed_updates`` is always sent: left out, Telegram would keep the list we subscribed it to.
    """
    token = _token_mode_required(bot)
    with telegram_errors():
        if not bot.original_url:
            telegram.delete_webhook(token)
            return
        telegram.set_webhook(
            token,
            url=str(bot.original_url),
            secret_token=str(bot.endpoint_secret) if bot.endpoint_secret else None,
            max_connections=bot.original_max_connections,
            allowed_updates=allowed_updates_to_restore(bot.original_allowed_updates),
            ip_address=bot.original_ip_address or None,
            certificate=bot.certificate.encode() if bot.original_has_certificate and bot.certificate else None,
        )


def bot_token_rotate(*, bot: Bot, new_token: str) -> Bot:
    if not bot.is_token_mode:
        raise ApplicationError("This bot is in manual mode: we do not keep its token.", code="manual_mode")
    checked = token_check(new_token)
    if checked.bot_id != bot.telegram_id:
        raise ApplicationError("That token belongs to another bot.", code="token_mismatch", field="token")
    with telegram_errors(field="token"):
        me = telegram.get_me(checked.value)
    if me.id != bot.telegram_id:
        raise ApplicationError("That token belongs to another bot.", code="token_mismatch", field="token")
    bot.token = checked.value
    bot.username, bot.name = me.username, me.first_name
    bot.save(update_fields=["token", "username", "name", "updated_at"])
    if bot.status not in (S.DISCONNECTED, S.BYPASSED, S.WEBHOOK_CHANGED):
        webhook_register(bot=bot)
    logger.info("bot_token_rotated bot=%s", bot.uuid)
    return bot


def bot_disconnect(*, bot: Bot) -> Bot:
    """Give the webhook back to the owner's endpoint; keep the bot and its history."""
    if bot.status == S.TOKEN_REVOKED:
        raise ApplicationError(
            "Telegram no longer accepts this bot's token, so its webhook cannot be changed. "
            "Paste the new token first (rotate token), then disconnect.",
            code="token_invalid",
        )
    # A webhook someone else changed is left as it is: restoring ours would overwrite theirs.
    if bot.is_token_mode and bot.status != S.WEBHOOK_CHANGED:
        webhook_restore(bot=bot)
    states.bot_mark_disconnected(bot=bot)
    return bot


def bot_reconnect(*, bot: Bot, adopt_current: bool = False) -> Bot:
    """Point the webhook at the proxy again.

    With ``adopt_current`` (a webhook changed while we were away) the URL the bot has
    now becomes the original to restore and the endpoint to forward to.
    """
    if not bot.is_token_mode:
        states.bot_mark_waiting(bot=bot)
        return bot
    if adopt_current:
        with telegram_errors():
            info = telegram.get_webhook_info(_token_mode_required(bot))
        if info.url and not _is_our_proxy_url(info.url):
            ours = webhook_subscription(bot=bot)
            # Whoever set the new webhook and left allowed_updates out kept our list: the owner's is the one we had.
            if not (ours and subscribed(info.allowed_updates, ours)):
                bot.original_allowed_updates = info.allowed_updates
            bot.original_url = bot.upstream_url = url_check(info.url)
            bot.original_max_connections = info.max_connections
            bot.original_ip_address = info.ip_address or ""
            bot.save(
                update_fields=[
                    "original_url",
                    "upstream_url",
                    "original_max_connections",
                    "original_allowed_updates",
                    "original_ip_address",
                    "updated_at",
                ]
            )
    return webhook_register(bot=bot)


def bot_update(*, bot: Bot, data: dict[str, Any]) -> Bot:
    """Change what an owner may edit directly (no Telegram call involved)."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        name = sorted(unknown)[0]
        raise ApplicationError(f"{name} cannot be changed here.", code="unknown_field", field=name)
    checks: dict[str, Callable[[Any], Any]] = {
        "upstream_url": url_check,
        "endpoint_secret": secret_check,
        "certificate": certificate_check,
        "mixpanel_token": mixpanel_token_check,
        "notices_enabled": bool,
        "notice_texts": notice_texts_check,
        "notice_default_language": language_check,
        "back_enabled": bool,
        "back_texts": lambda texts: notice_texts_check(texts, field="back_texts"),
    }
    for name, value in data.items():
        setattr(bot, name, checks[name](value))
    if data:
        bot.save(update_fields=[*data, "updated_at"])
    return bot


def bot_delete(*, bot: Bot) -> None:
    """Restore the original webhook first; only then forget the bot and its data.

    If Telegram cannot be reached the deletion is refused: the bot would be left
    pointing at a proxy that no longer knows it.
    """
    if bot.is_token_mode and bot.status not in (S.DISCONNECTED, S.WEBHOOK_CHANGED):
        try:
            webhook_restore(bot=bot)
        except ApplicationError as exc:
            if exc.code != "token_invalid":
                raise ApplicationError(
                    f"The bot was not deleted: its original webhook could not be restored. {exc.message}",
                    code=exc.code,
                    http_status=exc.http_status,
                    retry_after=exc.retry_after,
                ) from None
            # A revoked token can no longer change the webhook; nobody can point it back at us either.
    bot_id = bot.uuid
    bot.delete()
    logger.info("bot_deleted bot=%s", bot_id)


def tenant_delete(*, tenant: Tenant) -> None:
    """Delete a tenant, refused while it has bots whose webhook we hold.

    Their webhooks must be restored first, each by bot_delete (the bot list's bulk
    delete does it in the background): restoring them here, inside one transaction,
    would leave webhooks restored for bots that a later failure keeps.
    """
    held = Bot.objects.filter(tenant=tenant, mode=Bot.Mode.TOKEN, status__in=states.HELD | {S.CONNECTING})
    if count := held.count():
        raise ApplicationError(
            f"{tenant.name} still has {count} bot{'s' if count != 1 else ''} whose webhook we hold. Delete "
            f"{'them' if count != 1 else 'it'} first (bot list, filter by this organisation, 'Delete selected bots'), "
            "which restores the original webhooks; then delete the organisation.",
            code="bots_connected",
            http_status=409,
        )
    tenant_id = tenant.id
    tenant.delete()
    logger.info("tenant_deleted tenant=%s", tenant_id)
