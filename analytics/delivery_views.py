"""The delivery log page: /bots/<id>/deliveries/, the same filters as the API in a GET form."""

from __future__ import annotations

from datetime import UTC
from uuid import UUID

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.tenancy import tenant_required
from analytics.delivery_selectors import DeliveriesFilter, deliveries_filter_parse, deliveries_for_bot
from analytics.extract import UPDATE_TYPES
from botpresto.bots.forms import form_add_error
from botpresto.bots.selectors import bot_get_for_tenant
from botpresto.core.errors import ApplicationError

PAGE_SIZE = 50
_LOCAL = "%Y-%m-%dT%H:%M"  # what a datetime-local input shows and sends


class DeliveriesFilterForm(forms.Form):
    """Only converts for display: analytics.delivery_selectors.deliveries_filter_parse checks the values."""

    failed = forms.BooleanField(required=False, label="Failed attempts only")
    type = forms.ChoiceField(
        required=False, label="Update type", choices=[("", "any type"), *((t, t) for t in UPDATE_TYPES)]
    )
    since = forms.CharField(
        required=False, label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.CharField(
        required=False, label="Until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    update_id = forms.CharField(
        required=False, label="Update id", widget=forms.TextInput(attrs={"inputmode": "numeric", "maxlength": "19"})
    )


def _initial(filters: DeliveriesFilter) -> dict[str, object]:
    return {
        "failed": filters.failed,
        "type": filters.type,
        "since": filters.since.astimezone(UTC).strftime(_LOCAL) if filters.since else "",
        "until": filters.until.astimezone(UTC).strftime(_LOCAL) if filters.until else "",
        "update_id": "" if filters.update_id is None else filters.update_id,
    }


@tenant_required
def bot_deliveries(request: HttpRequest, bot_id: UUID) -> HttpResponse:
    bot = bot_get_for_tenant(tenant=request.tenant, bot_uuid=bot_id)  # type: ignore[attr-defined]
    try:
        filters = deliveries_filter_parse(request.GET)
    except ApplicationError as exc:
        form = DeliveriesFilterForm(request.GET)
        form.is_valid()
        form_add_error(form, exc)
        filters = DeliveriesFilter()
    else:
        # Unbound, so a chart link's ...Z times show in the datetime inputs.
        form = DeliveriesFilterForm(initial=_initial(filters))
    page = Paginator(deliveries_for_bot(bot=bot, filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "bot": bot,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "settings_days": settings.DELIVERY_LOG_DAYS,
        "settings_max": settings.DELIVERY_LOG_MAX_PER_BOT,
    }
    return render(request, "bots/bot_deliveries.html", context)
