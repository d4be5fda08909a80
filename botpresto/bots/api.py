from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_tenant
from botpresto.bots import selectors, services
from botpresto.bots.models import Bot

# What needs the bot's token, which a manual-mode owner keeps to themselves.
MANUAL_MODE_UNAVAILABLE = ("user_notices", "maintenance_bypass", "webhook_health_checks")


class BotOutputSerializer(serializers.Serializer):
    """What a client may see of a bot: never its token, endpoint secret or Mixpanel token."""

    id = serializers.UUIDField(source="uuid")
    telegram_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField()
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=Bot.Mode.choices)
    status = serializers.ChoiceField(choices=Bot.Status.choices)
    proxy_url = serializers.CharField()
    upstream_url = serializers.CharField()
    has_endpoint_secret = serializers.SerializerMethodField()
    has_mixpanel_token = serializers.SerializerMethodField()
    notices_enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    proxy_secret = serializers.SerializerMethodField(help_text="Manual mode only: the secret to give setWebhook.")
    set_webhook_command = serializers.SerializerMethodField(help_text="Manual mode only: the call to make.")
    unavailable_features = serializers.SerializerMethodField(help_text="What needs the token (manual mode).")

    def get_proxy_secret(self, bot: Bot) -> str | None:
        # The owner needs it to set the webhook by hand; in token mode it never leaves us.
        return None if bot.is_token_mode else str(bot.proxy_secret)

    def get_set_webhook_command(self, bot: Bot) -> str | None:
        return None if bot.is_token_mode else services.set_webhook_command(bot)

    def get_unavailable_features(self, bot: Bot) -> list[str]:
        return [] if bot.is_token_mode else list(MANUAL_MODE_UNAVAILABLE)

    def get_has_endpoint_secret(self, bot: Bot) -> bool:
        return bool(bot.endpoint_secret)

    def get_has_mixpanel_token(self, bot: Bot) -> bool:
        return bool(bot.mixpanel_token)


class BotCreateInputSerializer(serializers.Serializer):
    token = serializers.CharField(required=False, allow_blank=True, max_length=100)
    endpoint_secret = serializers.CharField(required=False, allow_blank=True, max_length=256)
    upstream_url = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    certificate = serializers.CharField(required=False, allow_blank=True, max_length=16384)
    mixpanel_token = serializers.CharField(required=False, allow_blank=True, max_length=200)


class BotUpdateInputSerializer(serializers.Serializer):
    endpoint_secret = serializers.CharField(required=False, allow_blank=True, max_length=256)
    upstream_url = serializers.CharField(required=False, max_length=2048)
    certificate = serializers.CharField(required=False, allow_blank=True, max_length=16384)
    mixpanel_token = serializers.CharField(required=False, allow_blank=True, max_length=200)
    notices_enabled = serializers.BooleanField(required=False)
    notice_texts = serializers.DictField(child=serializers.CharField(max_length=1000), required=False)
    notice_default_language = serializers.CharField(required=False, max_length=16)


class TokenInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=100)


class ReconnectInputSerializer(serializers.Serializer):
    adopt_current_webhook = serializers.BooleanField(required=False, default=False)


class BotListCreateApi(generics.ListAPIView):
    serializer_class = BotOutputSerializer

    def get_queryset(self) -> QuerySet[Bot]:
        return selectors.bots_for_tenant(tenant=request_tenant(self.request))

    @extend_schema(request=BotCreateInputSerializer, responses={201: BotOutputSerializer})
    def post(self, request: Request) -> Response:
        data = BotCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if v != ""}
        tenant = request_tenant(request)
        if fields.get("token"):
            bot = services.bot_connect(tenant=tenant, **fields)
        else:
            fields.pop("token", None)
            fields.pop("certificate", None)
            bot = services.bot_create_manual(tenant=tenant, upstream_url=fields.pop("upstream_url", ""), **fields)
        return Response(BotOutputSerializer(bot).data, status=status.HTTP_201_CREATED)


class BotDetailApi(APIView):
    @extend_schema(responses=BotOutputSerializer)
    def get(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        return Response(BotOutputSerializer(bot).data)

    @extend_schema(request=BotUpdateInputSerializer, responses=BotOutputSerializer)
    def patch(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = BotUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        bot = services.bot_update(bot=bot, data=dict(data.validated_data))
        return Response(BotOutputSerializer(bot).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        services.bot_delete(bot=bot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BotRotateTokenApi(APIView):
    @extend_schema(request=TokenInputSerializer, responses=BotOutputSerializer)
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_token_rotate(bot=bot, new_token=data.validated_data["token"])
        return Response(BotOutputSerializer(bot).data)


class BotDisconnectApi(APIView):
    @extend_schema(request=None, responses=BotOutputSerializer)
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        return Response(BotOutputSerializer(services.bot_disconnect(bot=bot)).data)


class BotReconnectApi(APIView):
    @extend_schema(request=ReconnectInputSerializer, responses=BotOutputSerializer)
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = ReconnectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_reconnect(bot=bot, adopt_current=data.validated_data["adopt_current_webhook"])
        return Response(BotOutputSerializer(bot).data)
