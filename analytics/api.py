from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_tenant
from analytics import selectors
from analytics.export import CSV_COLUMNS, end_users_csv_response
from analytics.models import EndUser
from botpresto.bots.selectors import bot_get_for_tenant


class StatsInputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(selectors.PERIODS), default="24h")


class NamedCountSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class StatsPointSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    updates = serializers.IntegerField()
    users = serializers.IntegerField()
    new_users = serializers.IntegerField()
    attempts = serializers.IntegerField()
    failures = serializers.IntegerField()
    skipped = serializers.IntegerField()
    blocks = serializers.IntegerField(help_text="Users who blocked the bot.")
    unblocks = serializers.IntegerField(help_text="Users who unblocked it.")
    updates_by_type = serializers.DictField(child=serializers.IntegerField())
    failures_by_kind = serializers.DictField(child=serializers.IntegerField())
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)


class AudienceSerializer(serializers.Serializer):
    dau = serializers.IntegerField(help_text="Distinct users with an update in the last 24 hours.")
    wau = serializers.IntegerField(help_text="... in the last 7 days.")
    mau = serializers.IntegerField(help_text="... in the last 30 days.")
    blocked_users = serializers.IntegerField(help_text="Users who have the bot blocked now.")


class CohortSerializer(serializers.Serializer):
    day = serializers.DateTimeField(help_text="The UTC day the cohort's users were first seen.")
    new_users = serializers.IntegerField()
    retained_d1 = serializers.IntegerField(help_text="Of them, active the next day.")
    retained_d7 = serializers.IntegerField(help_text="Of them, active on the seventh day after.")
    d1_rate = serializers.FloatField(allow_null=True, help_text="retained_d1 / new_users; null until that day ends.")
    d7_rate = serializers.FloatField(allow_null=True, help_text="retained_d7 / new_users; null until that day ends.")


class StatsTotalsSerializer(serializers.Serializer):
    updates = serializers.IntegerField()
    users = serializers.IntegerField(help_text="Distinct users active in the period.")
    new_users = serializers.IntegerField()
    blocked_users = serializers.IntegerField(help_text="Users who have the bot blocked now.")
    blocks = serializers.IntegerField(help_text="Users who blocked the bot in the period.")
    unblocks = serializers.IntegerField(help_text="Users who unblocked it in the period.")
    attempts = serializers.IntegerField(help_text="Deliveries tried, retries included.")
    failures = serializers.IntegerField()
    failures_by_kind = serializers.DictField(child=serializers.IntegerField())
    skipped = serializers.IntegerField(help_text="Malformed or unknown updates, forwarded but not read.")
    mixpanel_dropped = serializers.IntegerField()
    updates_by_type = serializers.DictField(child=serializers.IntegerField())
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    top_commands = NamedCountSerializer(many=True)
    languages = NamedCountSerializer(many=True)
    chat_types = serializers.DictField(child=serializers.IntegerField())


class StatsOutputSerializer(serializers.Serializer):
    period = serializers.CharField()
    step = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    totals = StatsTotalsSerializer()
    series = StatsPointSerializer(many=True)
    audience = AudienceSerializer()
    retention = CohortSerializer(many=True, help_text="Cohorts of the last 30 UTC days, newest first.")


class BotStatsApi(APIView):
    @extend_schema(parameters=[StatsInputSerializer], responses=StatsOutputSerializer)
    def get(self, request: Request, bot_id: UUID) -> Response:
        bot = bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = StatsInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        stats = selectors.bot_stats(bot=bot, period=data.validated_data["period"])
        return Response(StatsOutputSerializer(stats).data)


class CampaignsInputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(selectors.CAMPAIGN_PERIODS), default="30d")


class CampaignSerializer(serializers.Serializer):
    campaign = serializers.CharField(
        allow_blank=True, help_text="The deep link's /start payload; empty for users who came without one."
    )
    new_users = serializers.IntegerField(help_text="Users it brought in the period.")
    active_users = serializers.IntegerField(help_text="Its users (whenever they came) active in the period.")
    d1_rate = serializers.FloatField(allow_null=True, help_text="Day-1 retention of its cohorts in the period.")
    d7_rate = serializers.FloatField(allow_null=True, help_text="Day-7 retention of its cohorts in the period.")


class CampaignsOutputSerializer(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    campaigns = CampaignSerializer(many=True)


class BotCampaignsApi(APIView):
    """Deep-link campaigns (t.me/<bot>?start=<payload>): users each brought, active users and retention."""

    @extend_schema(parameters=[CampaignsInputSerializer], responses=CampaignsOutputSerializer)
    def get(self, request: Request, bot_id: UUID) -> Response:
        bot = bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = CampaignsInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        campaigns = selectors.bot_campaigns(bot=bot, period=data.validated_data["period"])
        return Response(CampaignsOutputSerializer(campaigns).data)


class UsersFilterSerializer(serializers.Serializer):
    """Documents the filter; analytics.selectors.users_filter_parse reads it (the page uses it too)."""

    language = serializers.CharField(required=False, help_text="e.g. de or pt-br (pt matches pt-br)")
    active_within = serializers.ChoiceField(choices=list(selectors.ACTIVITY), required=False)
    blocked = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(required=False, help_text="Name, @username or Telegram id")


class EndUserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = EndUser
        fields = CSV_COLUMNS


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        raise NotImplementedError("The users list streams its CSV itself.")


class BotUsersApi(generics.ListAPIView):
    """A bot's end users, most recently active first; ?format=csv exports them all."""

    serializer_class = EndUserOutputSerializer
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    def get_queryset(self) -> QuerySet[EndUser]:
        bot = bot_get_for_tenant(tenant=request_tenant(self.request), bot_uuid=self.kwargs["bot_id"])
        return selectors.end_users_for_bot(bot=bot, filters=selectors.users_filter_parse(self.request.query_params))

    @extend_schema(
        parameters=[
            UsersFilterSerializer,
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: every matching user, unpaged"),
        ],
        responses={
            (200, "application/json"): EndUserOutputSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if request.accepted_renderer.format != "csv":
            return super().list(request, *args, **kwargs)
        return end_users_csv_response(users=self.get_queryset(), bot_uuid=kwargs["bot_id"])

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Only the list itself is CSV: errors and OPTIONS answer JSON even when CSV was asked for.
        if isinstance(response, Response) and isinstance(getattr(request, "accepted_renderer", None), CSVRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
