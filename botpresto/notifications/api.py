"""The API of alert channels: the key's organisation's alert webhook, the key maker's own channels."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_member, request_tenant
from accounts.permissions import Permission, role_can
from botpresto.notifications import services
from botpresto.notifications.channels import channels_for
from botpresto.notifications.models import AlertWebhook, OwnerAlert


class AlertWebhookOutputSerializer(serializers.Serializer):
    configured = serializers.SerializerMethodField(help_text="False: the organisation has no alert webhook.")
    url = serializers.SerializerMethodField()
    kinds = serializers.ListField(child=serializers.CharField())
    secret = serializers.SerializerMethodField(help_text="Verifies the signature (owners and admins only).")
    last_status = serializers.CharField()
    last_sent_at = serializers.DateTimeField(allow_null=True)

    def _shown(self, hook: AlertWebhook) -> bool:
        return hook.pk is not None and bool(self.context.get("manages"))

    def get_configured(self, hook: AlertWebhook) -> bool:
        return hook.pk is not None

    def get_url(self, hook: AlertWebhook) -> str | None:
        return str(hook.url) if self._shown(hook) else None  # a Slack or Discord URL is a secret itself

    def get_secret(self, hook: AlertWebhook) -> str | None:
        return str(hook.secret) if self._shown(hook) else None


KINDS_HELP = f"Alert kinds: {', '.join(OwnerAlert.Kind.values)}."


def _kinds() -> serializers.ListField:
    # Checked by the service, which names the field of a kind it does not know.
    return serializers.ListField(child=serializers.CharField(allow_blank=True), required=False, help_text=KINDS_HELP)


class AlertWebhookInputSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="A Slack or Discord incoming webhook, or your own https endpoint.")
    kinds = _kinds()
    rotate_secret = serializers.BooleanField(required=False, default=False)


class AlertWebhookApi(APIView):
    """The organisation's alert webhook: everyone sees whether there is one; owners and admins change it."""

    write_permission = Permission.MANAGE_MEMBERS

    def _out(self, request: Request, hook: AlertWebhook) -> dict[str, Any]:
        manages = role_can(getattr(request.user, "role", None), Permission.MANAGE_MEMBERS)
        return dict(AlertWebhookOutputSerializer(hook, context={"manages": manages}).data)

    def _hook(self, request: Request) -> AlertWebhook:
        tenant = request_tenant(request)
        return AlertWebhook.objects.filter(tenant=tenant).first() or AlertWebhook(tenant=tenant, kinds=[])

    @extend_schema(responses=AlertWebhookOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self._out(request, self._hook(request)))

    @extend_schema(request=AlertWebhookInputSerializer, responses=AlertWebhookOutputSerializer)
    def put(self, request: Request) -> Response:
        data = AlertWebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        rotate = values.pop("rotate_secret")
        hook = services.alert_webhook_save(tenant=request_tenant(request), **values)
        if rotate:
            hook = services.alert_webhook_secret_rotate(hook=hook)
        return Response(self._out(request, hook))

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        hook = self._hook(request)
        if hook.pk is not None:
            services.alert_webhook_delete(hook=hook)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertChannelsSerializer(serializers.Serializer):
    email_kinds = serializers.ListField(child=serializers.ChoiceField(choices=OwnerAlert.Kind.choices))
    telegram_kinds = serializers.ListField(child=serializers.ChoiceField(choices=OwnerAlert.Kind.choices))
    telegram_linked = serializers.SerializerMethodField()

    def get_telegram_linked(self, channels: Any) -> bool:
        return channels.telegram_chat_id is not None


class AlertChannelsInputSerializer(serializers.Serializer):
    email_kinds = _kinds()
    telegram_kinds = _kinds()


class AlertChannelsApi(APIView):
    """Where the key's maker gets owner alerts, per kind (their own choice, whatever their role)."""

    write_permission = Permission.READ

    @extend_schema(responses=AlertChannelsSerializer)
    def get(self, request: Request) -> Response:
        return Response(AlertChannelsSerializer(channels_for(user_id=request_member(request).pk)).data)

    @extend_schema(request=AlertChannelsInputSerializer, responses=AlertChannelsSerializer)
    def patch(self, request: Request) -> Response:
        data = AlertChannelsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channels = services.alert_channels_update(user=request_member(request), **data.validated_data)
        return Response(AlertChannelsSerializer(channels).data)
