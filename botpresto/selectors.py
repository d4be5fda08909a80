from __future__ import annotations

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
