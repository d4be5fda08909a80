from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import ApiKeyForm, SignUpForm, TenantForm
from accounts.tenancy import SESSION_KEY, tenant_required
from botpresto.errors import ApplicationError


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, tenant = services.user_sign_up(**form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_KEY] = tenant.id
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def tenant_create(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        tenant = services.tenant_create(name=form.cleaned_data["name"], owner=request.user)  # type: ignore[arg-type]
        request.session[SESSION_KEY] = tenant.id
        return redirect("home")
    return render(request, "accounts/tenant_create.html", {"form": form})


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    tenant = selectors.tenants_for_user(user=request.user).filter(id=request.POST.get("tenant", "")).first()
    if tenant is None:
        raise Http404("No such organisation.")
    request.session[SESSION_KEY] = tenant.id
    return redirect("home")


@tenant_required
def api_keys(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        issued = services.api_key_create(tenant=tenant, name=form.cleaned_data["name"], created_by=request.user)  # type: ignore[arg-type]
        new_key = issued.plaintext
        form = ApiKeyForm()
    keys = selectors.api_keys_for_tenant(tenant=tenant)
    return render(request, "accounts/api_keys.html", {"form": form, "keys": keys, "new_key": new_key})


@tenant_required
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = selectors.api_key_get(tenant=request.tenant, key_id=key_id)  # type: ignore[attr-defined]
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"Key “{api_key.name}” revoked. Clients using it now get 401.")
    return redirect("api_keys")
