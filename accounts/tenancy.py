"""The tenant a signed-in person is working in, for server-rendered pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from accounts.models import Tenant
from accounts.selectors import tenant_get_for_user

SESSION_KEY = "tenant_id"


def current_tenant(request: HttpRequest) -> Tenant | None:
    if not request.user.is_authenticated:
        return None
    cached = getattr(request, "_tenant", None)
    if cached is None:
        cached = tenant_get_for_user(user=request.user, tenant_id=request.session.get(SESSION_KEY))  # type: ignore[arg-type]
        request._tenant = cached  # type: ignore[attr-defined]
    return cached


def tenant_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sign-in required; ``request.tenant`` is set to the tenant in use."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        tenant = current_tenant(request)
        if tenant is None:
            return redirect("tenant_create")
        request.tenant = tenant  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
