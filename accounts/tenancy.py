"""The tenant a signed-in person is working in, and what their role lets them do there, for pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from accounts.models import Tenant
from accounts.permissions import Permission, refusal, role_can
from accounts.selectors import membership_role, tenant_get_for_user

SESSION_KEY = "tenant_id"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

View = Callable[..., HttpResponseBase]


def current_tenant(request: HttpRequest) -> Tenant | None:
    if not request.user.is_authenticated:
        return None
    cached = getattr(request, "_tenant", None)
    if cached is None:
        cached = tenant_get_for_user(user=request.user, tenant_id=request.session.get(SESSION_KEY))  # type: ignore[arg-type]
        request._tenant = cached  # type: ignore[attr-defined]
    return cached


def current_role(request: HttpRequest) -> str | None:
    tenant = current_tenant(request)
    if tenant is None:
        return None
    if not hasattr(request, "_role"):
        request._role = membership_role(user=request.user, tenant=tenant)  # type: ignore[arg-type, attr-defined]
    return request._role  # type: ignore[attr-defined, no-any-return]


def tenant_required(
    view: View | None = None, *, read: Permission = Permission.READ, write: Permission | None = None
) -> Any:
    """Sign-in and a tenant required; ``request.tenant`` and ``request.role`` are set.

    GET needs ``read``; any other method needs ``write``, and a view that names no ``write``
    permission refuses writes. A refusal is a 403 page saying what the role cannot do.
    """

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            tenant = current_tenant(request)
            if tenant is None:
                return redirect("tenant_create")
            role = current_role(request)
            needed = read if request.method in SAFE_METHODS else write
            if needed is None or not role_can(role, needed):
                raise PermissionDenied(refusal(role=role, permission=needed or write or read, tenant_name=tenant.name))
            request.tenant, request.role = tenant, role  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
