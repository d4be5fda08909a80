from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_tenant
from accounts.permissions import Permission, role_can
from botpresto.bots import selectors, services
from botpresto.bots.models import Bot
from botpresto.core.crypto import DecryptionError
from botpresto.core.fields import unreadable_fields

# What needs the bot's token, which a manual-mode owner keeps to themselves.
MANUAL_MODE_UNAVAILABLE = ("user_notices", "maintenance_bypass", "webhook_health_checks")


class BotOutputSerializer(serializers.Serializer):
    """What a client may see of a bot: never its token, endpoint secret or Mixpanel token."""

    id = serializers.UUIDField(source="uuid")
    telegram_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField()
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=Bot.Mode.choices)
    status = serializers.ChoiceField(choices=Bot.Status.choices, source="shown_status")
    endpoint_failing_since = serializers.DateTimeField(allow_null=True)
    proxy_url = serializers.CharField()
    upstream_url = serializers.SerializerMethodField()
    has_endpoint_secret = serializers.SerializerMethodField()
    has_mixpanel_token = serializers.SerializerMethodField()
    notices_enabled = serializers.BooleanField()
    notice_texts = serializers.DictField(
        child=serializers.CharField(), help_text="Your own notice per language code; others get our default text."
    )
    notice_default_language = serializers.CharField(help_text="For users whose language has no notice.")
    back_enabled = serializers.BooleanField(help_text="Users told the bot was down hear once that it is back.")
    back_texts = serializers.DictField(child=serializers.CharField(), help_text='Your own "we\'re back" texts.')
    created_at = serializers.DateTimeField()
    proxy_secret = serializers.SerializerMethodField(help_text="Manual mode only: the secret to give setWebhook.")
    set_webhook_command = serializers.SerializerMethodField(help_text="Manual mode only: the call to make.")
    unavailable_features = serializers.SerializerMethodField(help_text="What needs the token (manual mode).")

    unreadable_secrets = serializers.SerializerMethodField(
        help_text="Stored values that no longer decrypt (a missing key): the bot does not forward until replaced."
    )

    def get_upstream_url(self, bot: Bot) -> str | None:
        try:
            return str(bot.upstream_url)
        except DecryptionError:
            return None

    def get_unreadable_secrets(self, bot: Bot) -> list[str]:
        return unreadable_fields(bot)

    def _secret_shown(self, bot: Bot) -> bool:
        # The owner needs it to set the webhook by hand; in token mode it never leaves us, and
        # only roles that manage bots see it (it lets anyone post updates to the endpoint).
        return not bot.is_token_mode and bool(self.context.get("manages_bots"))

    def get_proxy_secret(self, bot: Bot) -> str | None:
        try:
            return str(bot.proxy_secret) if self._secret_shown(bot) else None
        except DecryptionError:
            return None

    def get_set_webhook_command(self, bot: Bot) -> str | None:
        return services.set_webhook_command(bot) if self.get_proxy_secret(bot) else None

    def get_unavailable_features(self, bot: Bot) -> list[str]:
        return [] if bot.is_token_mode else list(MANUAL_MODE_UNAVAILABLE)

    def get_has_endpoint_secret(self, bot: Bot) -> bool:
        return bool(bot.endpoint_secret)

    def get_has_mixpanel_token(self, bot: Bot) -> bool:
        return bool(bot.mixpanel_token)


def _text(**kwargs: Any) -> serializers.CharField:
    """Converts only: what a value may be is the service's to say (botpresto.bots.validation)."""
    return serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False, **kwargs)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, naming them, instead of ignoring them."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(getattr(self, "initial_data", {})) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class BotCreateInputSerializer(StrictSerializer):
    token = _text(help_text="From @BotFather. Without it the bot is connected in manual mode.")
    endpoint_secret = _text()
    upstream_url = _text(help_text="Your endpoint. Token mode: defaults to the bot's current webhook.")
    certificate = _text(help_text="Your endpoint's self-signed certificate (public PEM), if it has one.")
    mixpanel_token = _text()
    username = _text(help_text="Manual mode: the bot's username, shown on the dashboard.")


class BotUpdateInputSerializer(StrictSerializer):
    endpoint_secret = _text()
    upstream_url = _text()
    certificate = _text()
    mixpanel_token = _text()
    notices_enabled = serializers.BooleanField(required=False)
    notice_texts = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    notice_default_language = _text()
    back_enabled = serializers.BooleanField(required=False)
    back_texts = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


class TokenInputSerializer(StrictSerializer):
    token = _text()


class ReconnectInputSerializer(StrictSerializer):
    adopt_current_webhook = serializers.BooleanField(required=False, default=False)


def _output_context(request: Request) -> dict[str, Any]:
    return {"request": request, "manages_bots": role_can(getattr(request.user, "role", None), Permission.MANAGE_BOTS)}


class BotListCreateApi(generics.ListAPIView):
    serializer_class = BotOutputSerializer
    write_permission = Permission.MANAGE_BOTS

    def get_serializer_context(self) -> dict[str, Any]:
        return _output_context(self.request)

    def get_queryset(self) -> QuerySet[Bot]:
        return selectors.bots_for_tenant(tenant=request_tenant(self.request))

    @extend_schema(request=BotCreateInputSerializer, responses={201: BotOutputSerializer})
    def post(self, request: Request) -> Response:
        data = BotCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = services.bot_create(tenant=request_tenant(request), **data.validated_data)
        return Response(BotOutputSerializer(bot, context=_output_context(request)).data, status=status.HTTP_201_CREATED)


class BotApi(APIView):
    """An API view on one of the key's tenant's bots (404 for anyone else's)."""

    write_permission = Permission.MANAGE_BOTS

    def output(self, bot: Bot) -> dict[str, Any]:
        return dict(BotOutputSerializer(bot, context=_output_context(self.request)).data)

    def bot(self, bot_id: UUID) -> Bot:
        return selectors.bot_get_for_tenant(tenant=request_tenant(self.request), bot_uuid=bot_id)

    def input(self, serializer: type[serializers.Serializer], **options: Any) -> dict[str, Any]:
        data = serializer(data=self.request.data, **options)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


class BotDetailApi(BotApi):
    @extend_schema(responses=BotOutputSerializer)
    def get(self, request: Request, bot_id: UUID) -> Response:
        bot = self.bot(bot_id)
        return Response(self.output(bot))

    @extend_schema(request=BotUpdateInputSerializer, responses=BotOutputSerializer)
    def patch(self, request: Request, bot_id: UUID) -> Response:
        bot = self.bot(bot_id)
        bot = services.bot_update(bot=bot, data=self.input(BotUpdateInputSerializer, partial=True))
        return Response(self.output(bot))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, bot_id: UUID) -> Response:
        bot = self.bot(bot_id)
        services.bot_delete(bot=bot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BotRotateTokenApi(BotApi):
    @extend_schema(request=TokenInputSerializer, responses=BotOutputSerializer)
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = self.bot(bot_id)
        bot = services.bot_token_rotate(bot=bot, new_token=self.input(TokenInputSerializer).get("token") or "")
        return Response(self.output(bot))


class BotDisconnectApi(BotApi):
    @extend_schema(request=None, responses=BotOutputSerializer)
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = self.bot(bot_id)
        return Response(self.output(services.bot_disconnect(bot=bot)))


class BotReconnectApi(BotApi):
    @extend_schema(request=ReconnectInputSerializer, responses=BotOutputSerializer)
    def post(self, request: Request, bot_id: UUID) -> Response:
        bot = self.bot(bot_id)
        adopt = self.input(ReconnectInputSerializer)["adopt_current_webhook"]
        bot = services.bot_reconnect(bot=bot, adopt_current=adopt)
        return Response(self.output(bot))
