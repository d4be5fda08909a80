from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_tenant
from botpresto import selectors, services
from botpresto.models import Bot


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

    def get_has_endpoint_secret(self, bot: Bot) -> bool:
        return bool(bot.endpoint_secret)

    def get_has_mixpanel_token(self, bot: Bot) -> bool:
        return bool(bot.mixpanel_token)

    def to_representation(self, bot: Bot) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(bot)
        if bot.mode == Bot.Mode.MANUAL:
            # The owner needs these to set the webhook by hand.
            data["proxy_secret"] = str(bot.proxy_secret)
            data["set_webhook_command"] = services.set_webhook_command(bot)
        data["unavailable_features"] = [] if bot.is_token_mode else list(MANUAL_MODE_UNAVAILABLE)
        return data


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
    def get(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        return Response(BotOutputSerializer(bot).data)

    def patch(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = BotUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        bot = services.bot_update(bot=bot, data=dict(data.validated_data))
        return Response(BotOutputSerializer(bot).data)

    def delete(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        services.bot_delete(bot=bot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BotRotateTokenApi(APIView):
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_token_rotate(bot=bot, new_token=data.validated_data["token"])
        return Response(BotOutputSerializer(bot).data)


class BotDisconnectApi(APIView):
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        return Response(BotOutputSerializer(services.bot_disconnect(bot=bot)).data)


class BotReconnectApi(APIView):
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = selectors.bot_get_for_tenant(tenant=request_tenant(request), bot_uuid=bot_id)
        data = ReconnectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_reconnect(bot=bot, adopt_current=data.validated_data["adopt_current_webhook"])
        return Response(BotOutputSerializer(bot).data)
