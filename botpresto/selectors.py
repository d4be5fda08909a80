from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Tenant
from botpresto.models import Bot


def bots_for_tenant(*, tenant: Tenant) -> QuerySet[Bot]:
    return Bot.objects.filter(tenant=tenant).order_by("-created_at")


def bot_get_for_tenant(*, tenant: Tenant, bot_uuid: UUID | str) -> Bot:
    """The tenant's bot, or 404 (another tenant's bot does not exist for them)."""
    try:
        return Bot.objects.get(tenant=tenant, uuid=bot_uuid)
    except (Bot.DoesNotExist, ValueError):
        raise Http404("No such bot.") from None


@dataclass(frozen=True)
class WebhookReport:
    """What Telegram's getWebhookInfo said when we last asked."""

    url: str
    pending_update_count: int
    last_error_at: datetime | None
    last_error_message: str
    checked_at: datetime | None
    points_at_us: bool


def bot_webhook_report(*, bot: Bot) -> WebhookReport | None:
    """None when we never asked (manual mode: we hold no token)."""
    info = bot.webhook_info or {}
    if not info:
        return None
    error_date = info.get("last_error_date")
    return WebhookReport(
        url=str(info.get("url") or ""),
        pending_update_count=int(info.get("pending_update_count") or 0),
        last_error_at=datetime.fromtimestamp(int(error_date), tz=UTC) if error_date else None,
        last_error_message=str(info.get("last_error_message") or ""),
        checked_at=bot.webhook_checked_at,
        points_at_us=info.get("url") == bot.proxy_url,
    )
