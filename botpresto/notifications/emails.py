"""Plain-text emails to the owners of a tenant about their bots.

Never a token, a secret or an endpoint URL (URLs often carry secrets): bots
are named by their username. A failed send is logged and does not stop the
job that sent it; callers record that the owner was told before sending, so a
re-run never sends the same notice twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.urls import reverse

from accounts.models import Membership
from botpresto.bots.models import Bot, MaintenanceWindow

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 10  # seconds: a slow mail server must not stall a maintenance job


def owner_emails(*, tenant_ids: Iterable[int]) -> dict[int, list[str]]:
    rows = (
        Membership.objects.filter(tenant_id__in=list(tenant_ids), role=Membership.Role.OWNER)
        .exclude(user__email="")
        .values_list("tenant_id", "user__email")
    )
    emails: dict[int, list[str]] = {}
    for tenant_id, email in rows:
        emails.setdefault(tenant_id, []).append(email)
    return emails


def owners_notify(*, messages: dict[int, tuple[str, str]], kind: str) -> int:
    """Send ``{tenant_id: (subject, body)}`` to each tenant's owners; returns the number of emails sent."""
    emails = owner_emails(tenant_ids=messages)
    datatuple = [
        (subject, f"{body}\n\n— BotPresto\n{settings.PUBLIC_URL}/bots/\n", settings.DEFAULT_FROM_EMAIL, [address])
        for tenant_id, (subject, body) in messages.items()
        for address in emails.get(tenant_id, [])
    ]
    if not datatuple:
        return 0
    try:
        sent = send_mass_mail(datatuple, connection=get_connection(timeout=SMTP_TIMEOUT))
    except Exception as exc:  # any mail server failure: the job goes on, the log says so
        logger.error("notice_failed kind=%s tenants=%s error=%s", kind, len(messages), type(exc).__name__)
        return 0
    logger.info("notice_sent kind=%s tenants=%s emails=%s", kind, len(messages), sent)
    return sent


def _when(window: MaintenanceWindow) -> str:
    return f"{window.starts_at:%Y-%m-%d %H:%M} to {window.ends_at:%Y-%m-%d %H:%M} UTC"


def _names(bots: Iterable[Bot]) -> str:
    return ", ".join(str(bot) for bot in bots)


def maintenance_notice_text(*, window: MaintenanceWindow, token_bots: list[Bot], manual_bots: list[Bot]) -> str:
    parts = [f"BotPresto will be under maintenance from {_when(window)}.\nReason: {window.reason}"]
    if token_bots:
        parts.append(
            f"Your bots connected with their token ({_names(token_bots)}): when the maintenance starts we point "
            "their webhooks straight back at your own endpoints, exactly as they were before you connected them "
            "(same address, your secret, limits and update types), so your users are served directly. "
            "Analytics and downtime notices pause meanwhile. When it ends we point them back at BotPresto.\n"
            "Please do not change their webhooks during the maintenance: we do not take back a bot whose webhook "
            "changed, and you would have to reconnect it yourself."
        )
    if manual_bots:
        parts.append(
            f"Your bots whose webhook you set yourself ({_names(manual_bots)}): their updates cannot reach us "
            "during the maintenance. Telegram keeps them (for up to 24 hours) and delivers them when we are back, "
            "so nothing is lost, but your users will wait."
        )
    return "\n\n".join(parts)


def webhook_changed_text(*, bot: Bot, during_maintenance: bool) -> str:
    when = "during the maintenance" if during_maintenance else "recently"
    return (
        f"The webhook of {bot} was set to another address {when}, so Telegram no longer sends its updates "
        "through BotPresto. A bot can have only one webhook: another service, or a development copy of your bot "
        "that was started and forgotten, may have taken it.\n\n"
        "We leave the webhook as it is. To use BotPresto again, reconnect the bot on its page: one click "
        "points the webhook back at us, and keeps the address it has now as your endpoint.\n"
        f"{settings.PUBLIC_URL}{reverse('bot_detail', args=[bot.uuid])}"
    )


def token_revoked_text(*, bot: Bot) -> str:
    return (
        f"Telegram no longer accepts the token of {bot}: it was revoked or replaced with @BotFather. "
        "Until you give us the new token we cannot check or change the bot's webhook.\n\n"
        "Paste the current token from @BotFather in the bot's settings; we register the webhook again with it.\n"
        f"{settings.PUBLIC_URL}{reverse('bot_settings', args=[bot.uuid])}#token"
    )


def bot_owners_notify(*, bot: Bot, subject: str, body: str, kind: str) -> int:
    return owners_notify(messages={bot.tenant_id: (subject, body)}, kind=kind)
