"""Reads of the delivery log (analytics.deliveries): the page, the API and the chart links share them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from analytics.extract import UPDATE_TYPES
from analytics.models import Delivery
from botpresto.bots.models import Bot
from botpresto.core.errors import ApplicationError

# The largest update_id Telegram can send fits a 64-bit column; anything longer is not an id.
_UPDATE_ID_DIGITS = 19


@dataclass(frozen=True)
class DeliveriesFilter:
    failed: bool = False
    type: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    update_id: int | None = None

    def as_params(self) -> dict[str, str]:
        """The filter as query parameters (paging links keep it)."""
        params = {
            "failed": "true" if self.failed else "",
            "type": self.type,
            "since": _iso(self.since),
            "until": _iso(self.until),
            "update_id": "" if self.update_id is None else str(self.update_id),
        }
        return {key: value for key, value in params.items() if value}


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _moment(params: Mapping[str, Any], name: str) -> datetime | None:
    text = str(params.get(name) or "").strip()
    if not text:
        return None
    try:
        moment = parse_datetime(text)
        # Times without a zone are UTC, as shown. Converting here also refuses a moment at the calendar's
        # edge that has no UTC equivalent (0001-01-01T00:00+05:00), which would fail later as a 500.
        moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC) if moment else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ApplicationError(f"{name} is a date and time such as 2026-01-31T14:00:00Z.", field=name)
    return moment


def deliveries_filter_parse(params: Mapping[str, Any]) -> DeliveriesFilter:
    """The delivery log's filter, from query parameters; ApplicationError names a bad one."""
    failed = str(params.get("failed") or "").strip().lower()
    if failed not in ("", "true", "false", "1", "0", "on"):  # "on": the page's checkbox
        raise ApplicationError("failed is true or false.", field="failed")
    kind = str(params.get("type") or "").strip()
    if kind and kind not in UPDATE_TYPES:
        raise ApplicationError("type is an update type such as message or callback_query.", field="type")
    update_text = str(params.get("update_id") or "").strip()
    if update_text and not (update_text.isascii() and update_text.isdigit() and len(update_text) <= _UPDATE_ID_DIGITS):
        raise ApplicationError("update_id is a whole number.", field="update_id")
    since, until = _moment(params, "since"), _moment(params, "until")
    if since and until and until <= since:
        raise ApplicationError("until comes after since.", field="until")
    return DeliveriesFilter(
        failed=failed in ("true", "1", "on"),
        type=kind,
        since=since,
        until=until,
        update_id=int(update_text) if update_text else None,
    )


def deliveries_for_bot(*, bot: Bot, filters: DeliveriesFilter | None = None) -> QuerySet[Delivery]:
    """A bot's delivery attempts, newest first, each with its attempt number for its update_id.

    The number counts the stored attempts of the same update up to this one: Telegram
    retries an update with its update_id, so 3 means the endpoint was asked a third time.
    """
    filters = filters or DeliveriesFilter()
    rows = Delivery.objects.filter(bot=bot)
    if filters.failed:
        rows = rows.exclude(failure="")
    if filters.type:
        rows = rows.filter(update_type=filters.type)
    if filters.since:
        rows = rows.filter(received_at__gte=filters.since)
    if filters.until:
        rows = rows.filter(received_at__lt=filters.until)
    if filters.update_id is not None:
        rows = rows.filter(update_id=filters.update_id)
    earlier = (
        Delivery.objects.filter(bot_id=OuterRef("bot_id"), update_id=OuterRef("update_id"))
        .filter(
            Q(received_at__lt=OuterRef("received_at")) | Q(received_at=OuterRef("received_at"), id__lte=OuterRef("id"))
        )
        .order_by()
        .values("bot_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    # An update that was not understood has no id to group by: it is its own first attempt.
    attempt = Coalesce(Subquery(earlier, output_field=IntegerField()), Value(1))
    return rows.annotate(attempt=attempt).order_by("-received_at", "-id")


def deliveries_hour_url(*, bot: Bot, start: datetime, hours: int = 1, failed: bool = False) -> str:
    """The log filtered to one chart point's period (the charts link each point here)."""
    filters = DeliveriesFilter(failed=failed, since=start, until=start + timedelta(hours=hours))
    return f"{reverse('bot_deliveries', args=[bot.uuid])}?{urlencode(filters.as_params())}"
