from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiKey, Tenant
from accounts.services import api_key_authenticate
from accounts.throttling import api_failed_auth_check, api_failed_auth_record


class TenantPrincipal:
    """Who a request acts for: the member who made the API key, in the key's tenant, with their role.

    DRF wants a "user"; the key acts in one tenant only, so it is not the person themselves.
    """

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey, role: str) -> None:
        self.api_key = api_key
        self.tenant = api_key.tenant
        self.member = api_key.created_by
        self.role = role

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        api_failed_auth_check(request)  # guessing keys from one address ends in 429s
        authenticated = api_key_authenticate(plaintext=key.strip())
        if authenticated is None:
            api_failed_auth_record(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        api_key, role = authenticated
        return TenantPrincipal(api_key, role), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def request_member(request: Request) -> User:
    """The person an authenticated API request acts for (the key's maker)."""
    principal = request.user
    if not isinstance(principal, TenantPrincipal) or principal.member is None:
        raise exceptions.NotAuthenticated()
    return principal.member


def request_tenant(request: Request) -> Tenant:
    """The tenant an authenticated API request acts for."""
    api_key = request.auth
    if not isinstance(api_key, ApiKey):
        raise exceptions.NotAuthenticated()
    return api_key.tenant
