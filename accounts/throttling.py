"""How much anyone may ask: logins, sign-ups, password resets and the API.

- Logins (pages and admin share them): django-axes locks an email and address pair after
  LOGIN_FAILURE_LIMIT failures for LOGIN_LOCKOUT_MINUTES; on top, one address may try
  LOGIN_ATTEMPTS_PER_ADDRESS_HOUR logins an hour, whatever the emails (credential stuffing).
- The API: DRF throttles per key and per address; failed authentications (missing, wrong or
  revoked keys) are counted per address and answered 429 past API_FAILED_AUTH_PER_ADDRESS.
- Sign-ups and password resets per address, reset emails per address, invitations per tenant
  (accounts.services), confirmation emails per account.

Every refusal is a 429 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from botpresto.core.http import client_address
from botpresto.core.throttle import rate_limit_hit

HOUR = 3600
FAILED_AUTH_WINDOW = 600  # seconds: API_FAILED_AUTH_PER_ADDRESS counts in windows of ten minutes


def too_many(request: HttpRequest, *, retry_after: int, what: str) -> HttpResponse:
    minutes = max(1, -(-retry_after // 60))
    context = {"what": what, "minutes": minutes}
    response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def rate_limited(
    *, bucket: str, limit: Callable[[], int], what: str, window: int = HOUR
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Page decorator: each POST from one address counts; past ``limit()`` an hour, 429."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST":
                wait = rate_limit_hit(bucket=bucket, key=client_address(request), limit=limit(), window=window)
                if wait is not None:
                    return too_many(request, retry_after=wait, what=what)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


login_rate_limited = rate_limited(
    bucket="login-address", limit=lambda: settings.LOGIN_ATTEMPTS_PER_ADDRESS_HOUR, what="login attempts"
)
signup_rate_limited = rate_limited(
    bucket="signup-address", limit=lambda: settings.SIGNUPS_PER_ADDRESS_HOUR, what="sign-ups"
)
password_reset_rate_limited = rate_limited(
    bucket="reset-address", limit=lambda: settings.PASSWORD_RESETS_PER_ADDRESS_HOUR, what="password resets"
)


def password_reset_email_allowed(email: str) -> bool:
    """At most PASSWORD_RESETS_PER_EMAIL_HOUR reset emails to one address an hour, so nobody can
    flood a mailbox; the page answers the same either way."""
    limit = settings.PASSWORD_RESETS_PER_EMAIL_HOUR
    return rate_limit_hit(bucket="reset-email", key=email.strip().lower(), limit=limit, window=HOUR) is None


def verification_email_wait(user_id: int) -> int | None:
    limit = settings.VERIFICATION_EMAILS_PER_HOUR
    return rate_limit_hit(bucket="verify-email", key=str(user_id), limit=limit, window=HOUR)


# django-axes hooks (settings.AXES_*)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """Emails in any case count as one (accounts.backends.EmailBackend logs in by email in any case)."""
    value = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(value).strip().lower()


def axes_client_address(request: HttpRequest) -> str:
    return client_address(request)


def axes_lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    seconds = int(timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES).total_seconds())
    return too_many(request, retry_after=seconds, what="failed logins for this email")


# The API


class _SettingRateThrottle(SimpleRateThrottle):
    """Reads its rate from the settings at each request, not once at import (tests change them)."""

    setting = ""

    def get_rate(self) -> str:
        return f"{getattr(settings, self.setting)}/min"

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class ApiKeyRateThrottle(_SettingRateThrottle):
    scope = "api_key"
    setting = "API_REQUESTS_PER_MINUTE_PER_KEY"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        api_key = getattr(request.user, "api_key", None)
        if api_key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.pk}


class ApiAddressRateThrottle(_SettingRateThrottle):
    scope = "api_address"
    setting = "API_REQUESTS_PER_MINUTE_PER_ADDRESS"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request._request)}


def api_failed_auth_check(request: Request) -> None:
    """Before a key is looked at: an address past its bound of failed authentications gets 429."""
    wait = rate_limit_hit(
        bucket="api-failed-auth",
        key=client_address(request._request),
        limit=settings.API_FAILED_AUTH_PER_ADDRESS,
        window=FAILED_AUTH_WINDOW,
        count=False,
    )
    if wait is not None:
        raise exceptions.Throttled(wait=wait, detail="Too many failed authentications from this address.")


def api_failed_auth_record(request: Request) -> None:
    """Count a 401 for the request's address (called by the API's one exception handler)."""
    rate_limit_hit(
        bucket="api-failed-auth",
        key=client_address(request._request),
        limit=settings.API_FAILED_AUTH_PER_ADDRESS,
        window=FAILED_AUTH_WINDOW,
    )
