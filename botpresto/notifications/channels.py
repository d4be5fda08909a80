"""Where an owner alert goes: each owner's email and Telegram (per kind, their choice), the organisation's webhook.

``alert_send`` (botpresto.notifications.alerts) asks ``deliveries`` what one alert owes, then
sends each one it has not sent yet and records it on the alert, so a retry after a failure
sends only what is missing: every channel gets each alert once.

The Telegram channel is the operator's alert bot (ALERT_BOT_TOKEN; owners link it from their
profile page, botpresto.notifications.alert_bot). The webhook is the organisation's: a JSON body
Slack (``text``) and Discord (``content``) incoming webhooks both take, with the structured
``event`` beside them, signed as Standard Webhooks sign (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``; any of its libraries verifies it with the organisation's secret), and
sent through the proxy's guarded pool: the address is checked when the URL is saved and again
at every connection.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook
from urllib3.exceptions import HTTPError

from accounts.models import Membership
from botpresto.core.telegram import PermanentError, telegram
from botpresto.notifications.emails import email_send
from botpresto.notifications.models import AlertChannels, AlertWebhook, OwnerAlert

logger = logging.getLogger(__name__)

DISCORD_CONTENT_MAX = 2000  # Discord refuses longer content
TELEGRAM_TEXT_MAX = 4096


class ChannelUnavailable(ConnectionError):
    """The channel failed for now (a timeout, a 5xx, a 429): the alert task retries what is left (a transient
    error for botpresto.core.retry)."""


@dataclass(frozen=True)
class Delivery:
    key: str  # recorded on the alert once done: "email:<address>", "telegram:<chat id>", "webhook"
    send: Callable[[], object]


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    url: str  # the bot's page, or the dashboard


def webhook_secret_generate() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def channels_for(*, user_id: int) -> AlertChannels:
    """The person's choices; everything to email (as before channels existed) until they choose."""
    return AlertChannels.objects.filter(user_id=user_id).first() or AlertChannels(user_id=user_id)


def _owners(tenant_id: int) -> list[tuple[int, str]]:
    rows = Membership.objects.filter(tenant_id=tenant_id, role=Membership.Role.OWNER, user__is_active=True)
    return list(rows.order_by("user__email").values_list("user_id", "user__email"))


def deliveries(*, alert: OwnerAlert, message: Message) -> list[Delivery]:
    """What the alert owes, in order: each owner's channels for its kind, then the organisation's webhook."""
    owed: list[Delivery] = []
    kind = alert.kind
    for user_id, email in _owners(alert.tenant_id):
        chosen = channels_for(user_id=user_id)
        if email and kind in chosen.email_kinds:
            owed.append(Delivery(f"email:{email}", _email(email, message)))
        chat = chosen.telegram_chat_id
        if settings.ALERT_BOT_TOKEN and chat is not None and kind in chosen.telegram_kinds:
            owed.append(Delivery(f"telegram:{chat}", _telegram(user_id, chat, message)))
    hook = AlertWebhook.objects.filter(tenant_id=alert.tenant_id).first()
    if hook is not None and kind in hook.kinds:
        body = webhook_body(alert, message)
        owed.append(Delivery("webhook", lambda: webhook_send(hook=hook, body=body, msg_id=f"alert_{alert.id}")))
    return owed


def _email(address: str, message: Message) -> Callable[[], object]:
    return lambda: email_send(to=[address], subject=message.subject, body=message.body)


def _telegram(user_id: int, chat_id: int, message: Message) -> Callable[[], object]:
    def send() -> None:
        text = f"{message.subject}\n\n{message.body}".strip()[:TELEGRAM_TEXT_MAX]
        try:
            telegram.send_message(settings.ALERT_BOT_TOKEN, chat_id=chat_id, text=text)
        except PermanentError as exc:
            if exc.error_code == 403:  # they blocked the alert bot: stop trying until they link again
                AlertChannels.objects.filter(user_id=user_id, telegram_chat_id=chat_id).update(
                    telegram_chat_id=None, telegram_name="", telegram_linked_at=None
                )
            logger.info("alert_telegram_refused user=%s code=%s", user_id, exc.error_code)

    return send


def webhook_body(alert: OwnerAlert, message: Message) -> dict[str, Any]:
    """Slack shows ``text``, Discord ``content``; anything else reads ``event``. Never a token or a secret."""
    headline = f"{message.subject}\n{message.url}"
    bot = alert.bot
    return {
        "text": headline,
        "content": headline[:DISCORD_CONTENT_MAX],
        "event": {
            "id": f"alert_{alert.id}",
            "kind": alert.kind,
            "organisation": alert.tenant.name,
            "bot": {"id": str(bot.uuid), "username": bot.username} if bot is not None else None,
            "details": {k: v for k, v in alert.details.items() if isinstance(v, str | int | float | bool | list)},
            "created_at": alert.created_at.astimezone(UTC).isoformat(),
            "url": message.url,
        },
    }


def webhook_send(*, hook: AlertWebhook, body: dict[str, Any], msg_id: str, ca_certs: str | None = None) -> int:
    """POST one signed body; returns the status. A timeout, 429 or 5xx raises ChannelUnavailable; another
    refusal is recorded on the webhook and not retried (the owner fixes the URL)."""
    from proxy.upstream import AddressRefused, guarded_post  # the proxy's guarded pool, loaded where alerts go

    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    sent_at = datetime.now(tz=UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(str(hook.secret)).sign(msg_id, sent_at, payload),
    }
    try:
        response = guarded_post(
            str(hook.url), payload.encode(), headers, timeout=settings.ALERT_WEBHOOK_TIMEOUT, ca_certs=ca_certs
        )
    except AddressRefused:
        # The name points into our network now: never sent, and not retried (the owner must fix it).
        _note(hook, "refused: the name resolves to a private or reserved address")
        logger.warning("alert_webhook_refused tenant=%s reason=private_address", hook.tenant_id)
        return 0
    except (HTTPError, OSError, ValueError) as exc:
        _note(hook, f"no answer ({type(exc).__name__})")
        raise ChannelUnavailable(type(exc).__name__) from None
    status = response.status
    _note(hook, f"HTTP {status}")
    if status == 429 or status >= 500:
        raise ChannelUnavailable(f"HTTP {status}")
    if not 200 <= status <= 299:
        logger.warning("alert_webhook_refused tenant=%s status=%s", hook.tenant_id, status)
    return status


def _note(hook: AlertWebhook, status: str) -> None:
    AlertWebhook.objects.filter(id=hook.id).update(last_status=status[:120], last_sent_at=timezone.now())
