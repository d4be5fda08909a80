from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.authentication import request_member, request_tenant
from accounts.models import ApiKey
from accounts.permissions import Permission


class ApiKeyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyListApi(generics.ListAPIView):
    """The keys of the calling key's tenant (never their secret part)."""

    serializer_class = ApiKeyOutputSerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        return selectors.api_keys_for_tenant(tenant=request_tenant(self.request))


class ApiKeyRevokeApi(APIView):
    write_permission = Permission.MANAGE_KEYS

    @extend_schema(request=None, responses=ApiKeyOutputSerializer)
    def post(self, request: Request, key_id: int) -> Response:
        api_key = selectors.api_key_get(tenant=request_tenant(request), key_id=key_id)
        services.api_key_revoke(api_key=api_key, actor=request_member(request))
        return Response(ApiKeyOutputSerializer(api_key).data, status=status.HTTP_200_OK)
