from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Tenant
from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow


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


def maintenance_window_for_banner(*, now: datetime | None = None) -> MaintenanceWindow | None:
    """The window owners should see: one under way, or the next one within the notice lead time."""
    now = now or timezone.now()
    lead = timedelta(hours=settings.MAINTENANCE_NOTICE_HOURS)
    return (
        MaintenanceWindow.objects.filter(
            Q(state__in=MaintenanceWindow.OPEN)
            | Q(state=MaintenanceWindow.State.PLANNED, starts_at__lte=now + lead, ends_at__gt=now)
        )
        .order_by("starts_at")
        .first()
    )


@dataclass
class Progress:
    done: int = 0
    left: int = 0
    failed: int = 0
    skipped: int = 0
    reasons: list[tuple[str, str, int]] = field(default_factory=list)  # (state, reason, bots)


def maintenance_progress(*, window: MaintenanceWindow) -> dict[str, Progress]:
    """Per direction: bots done, left, failed and skipped, and why (grouped)."""
    S = MaintenanceSwitch.State
    progress = {d: Progress() for d in MaintenanceSwitch.Direction.values}
    counts = window.switches.values("direction", "state").annotate(n=Count("id")).order_by()
    for row in counts:
        p = progress[row["direction"]]
        if row["state"] in (S.PENDING, S.RUNNING):
            p.left += row["n"]
        else:
            setattr(p, row["state"], getattr(p, row["state"]) + row["n"])
    reasons = (
        window.switches.filter(state__in=[S.FAILED, S.SKIPPED])
        .values("direction", "state", "reason")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    for row in reasons:
        progress[row["direction"]].reasons.append((row["state"], row["reason"], row["n"]))
    return progress
