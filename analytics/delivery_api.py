"""GET /api/v1/bots/<id>/deliveries/: the delivery log, filtered and paged like the other lists."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request

from accounts.authentication import request_tenant
from analytics.delivery_selectors import deliveries_filter_parse, deliveries_for_bot
from analytics.extract import UPDATE_TYPES
from analytics.models import Delivery
from botpresto.bots.selectors import bot_get_for_tenant


class DeliveriesFilterSerializer(serializers.Serializer):
    """Documents the filter; analytics.delivery_selectors.deliveries_filter_parse reads it (the page uses it too)."""

    failed = serializers.BooleanField(required=False, default=False, help_text="true: failed attempts only")
    type = serializers.ChoiceField(choices=list(UPDATE_TYPES), required=False, help_text="The update type.")
    since = serializers.DateTimeField(required=False, help_text="Attempts received at or after (UTC if no zone).")
    until = serializers.DateTimeField(required=False, help_text="Attempts received before (UTC if no zone).")
    update_id = serializers.IntegerField(required=False, min_value=0, help_text="Every attempt of one update.")


class DeliveryOutputSerializer(serializers.ModelSerializer):
    attempt = serializers.IntegerField(help_text="1 for the first delivery of the update, 2 for Telegram's retry, ...")
    update_type = serializers.CharField(help_text="Empty when the update was not understood.")
    chat_type = serializers.CharField(help_text="private, group, supergroup, channel; empty without a chat.")
    status = serializers.IntegerField(help_text="What the proxy answered Telegram.")
    upstream_status = serializers.IntegerField(allow_null=True, help_text="What the endpoint answered; null if none.")
    failure = serializers.CharField(help_text="Kind of failure (timeout, connect, http_status, ...); empty if none.")
    notice_sent = serializers.BooleanField(help_text="The user was told the bot is temporarily unavailable.")

    class Meta:
        model = Delivery
        fields = [
            "received_at",
            "update_id",
            "update_type",
            "chat_type",
            "status",
            "upstream_status",
            "latency_ms",
            "failure",
            "filtered",
            "attempt",
            "notice_sent",
        ]


class BotDeliveriesApi(generics.ListAPIView):
    """A bot's recent delivery attempts, newest first (kept DELIVERY_LOG_DAYS, at most DELIVERY_LOG_MAX_PER_BOT)."""

    serializer_class = DeliveryOutputSerializer

    def get_queryset(self) -> QuerySet[Delivery]:
        bot = bot_get_for_tenant(tenant=request_tenant(self.request), bot_uuid=self.kwargs["bot_id"])
        return deliveries_for_bot(bot=bot, filters=deliveries_filter_parse(self.request.query_params))

    @extend_schema(parameters=[DeliveriesFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)
