from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import (
    LoginView,
    LogoutView,
    PasswordResetConfirmView,
    PasswordResetView,
    redirect_to_login,
)
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts import signup as signup_services
from accounts.forms import ApiKeyForm, EmailAuthenticationForm, InviteForm, RoleForm, SignUpForm, TenantForm
from accounts.models import Membership
from accounts.permissions import Permission
from accounts.tenancy import SESSION_KEY, tenant_required
from accounts.throttling import (
    login_rate_limited,
    password_reset_email_allowed,
    password_reset_rate_limited,
    signup_rate_limited,
    too_many,
    verification_email_wait,
)
from botpresto.bots.forms import form_add_error
from botpresto.core.errors import ApplicationError


def _refused(exc: ApplicationError) -> None:
    """A service's refusal for the person's role is a 403 page, like the decorator's."""
    if exc.http_status == 403:
        raise PermissionDenied(exc.message) from exc


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing up (e.g. back to an invitation), if it is one of our pages."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return url if safe else ""


SIGNUP_SESSION_KEY = "signup_user"


@sensitive_post_parameters("password")
@signup_rate_limited
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    next_url = _next_url(request)
    form = SignUpForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        try:
            user = signup_services.user_sign_up(next_url=next_url, **form.cleaned_data)
        except ApplicationError as exc:  # the mail server is away, whether or not the address is taken
            form_add_error(form, exc)
            return render(request, "accounts/signup.html", {"form": form, "next": next_url}, status=503)
        # Set whether or not an account was made, so the answer (cookie included) is the same.
        request.session[SIGNUP_SESSION_KEY] = user.pk if user else None
        email = signup_services.email_normalize(form.cleaned_data["email"])
        return render(
            request, "accounts/signup_sent.html", {"email": email, "days": signup_services.VERIFY_MAX_AGE_DAYS}
        )
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


def email_verify(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: confirms the address in the browser that signed up, or once logged in as the account."""
    try:
        user, organisation = signup_services.email_verification_read(token=token)
    except ApplicationError as exc:
        return render(request, "accounts/email_verify.html", {"error": exc.message}, status=400)
    in_signup_browser = request.session.get(SIGNUP_SESSION_KEY) == user.pk
    if not (in_signup_browser or (request.user.is_authenticated and request.user.pk == user.pk)):
        if request.user.is_authenticated:
            return render(
                request,
                "accounts/email_verify.html",
                {"error": f"This link confirms another account. Log out, then log in as {user.email}."},
                status=400,
            )
        return redirect_to_login(request.get_full_path())
    tenant = signup_services.email_verify(user=user, organisation=organisation)
    if not request.user.is_authenticated:
        login(request, user, backend="accounts.backends.EmailBackend")
    request.session.pop(SIGNUP_SESSION_KEY, None)
    if tenant is not None:
        request.session[SESSION_KEY] = tenant.id
    messages.success(request, f"Thank you: {user.email} is confirmed.")
    return redirect(_next_url(request) or "home")


@login_required
@require_POST
def email_verify_send(request: HttpRequest) -> HttpResponse:
    """Send the link again (or for the first time, to accounts older than confirmation)."""
    user = request.user
    next_url = _next_url(request)
    wait = verification_email_wait(int(user.pk or 0))
    if wait is not None:
        return too_many(request, retry_after=wait, what="confirmation emails")
    has_tenant = user.memberships.exists()  # type: ignore[union-attr]
    try:
        signup_services.email_verification_send(
            user=user,  # type: ignore[arg-type]
            organisation=None if next_url or has_tenant else "",
            next_url=next_url,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(next_url or "tenant_create")
    messages.success(request, f"We sent a link to {user.email}. Open it to confirm your address.")  # type: ignore[union-attr]
    return redirect(next_url or "tenant_create")


@login_required
def tenant_create(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenant_create(name=form.cleaned_data["name"], owner=request.user)  # type: ignore[arg-type]
        except ApplicationError as exc:
            form_add_error(form, exc)
        else:
            request.session[SESSION_KEY] = tenant.id
            return redirect("home")
    verified = selectors.email_is_verified(user=request.user)  # type: ignore[arg-type]
    return render(request, "accounts/tenant_create.html", {"form": form, "verified": verified})


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    tenant = selectors.tenants_for_user(user=request.user).filter(id=request.POST.get("tenant", "")).first()
    if tenant is None:
        raise Http404("No such organisation.")
    services.tenant_use(user=request.user, tenant=tenant)  # type: ignore[arg-type]
    request.session[SESSION_KEY] = tenant.id
    return redirect("home")


@tenant_required(write=Permission.MANAGE_KEYS)
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


@tenant_required(write=Permission.MANAGE_KEYS)
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = selectors.api_key_get(tenant=request.tenant, key_id=key_id)  # type: ignore[attr-defined]
    services.api_key_revoke(api_key=api_key, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, f"Key “{api_key.name}” revoked. Clients using it now get 401.")
    return redirect("api_keys")


@tenant_required(write=Permission.MANAGE_MEMBERS)
def members(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.membership_invite(tenant=tenant, invited_by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as exc:
            _refused(exc)
            form_add_error(form, exc)
        else:
            days = services.INVITATION_MAX_AGE.days
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. They join once they accept it; "
                f"the link works for {days} days.",
            )
            return redirect("members")
    context = {
        "form": form,
        "memberships": selectors.memberships_for_tenant(tenant=tenant),
        "invitations": selectors.invitations_for_tenant(tenant=tenant),
        "roles": Membership.Role.choices,
    }
    return render(request, "accounts/members.html", context)


@tenant_required(write=Permission.MANAGE_MEMBERS)
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = selectors.membership_get(tenant=request.tenant, membership_id=membership_id)  # type: ignore[attr-defined]
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, admin, member or viewer.")
        return redirect("members")
    try:
        services.membership_role_change(membership=membership, role=form.cleaned_data["role"], actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        _refused(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    return redirect("members")


# Everyone may leave; removing someone else is the service's to allow (admins, or owners for owners).
@tenant_required(write=Permission.READ)
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = selectors.membership_get(tenant=request.tenant, membership_id=membership_id)  # type: ignore[attr-defined]
    try:
        services.membership_remove(membership=membership, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        _refused(exc)
        messages.error(request, exc.message)
        return redirect("members")
    if membership.user_id == request.user.id:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, f"You left {membership.tenant.name}.")
        return redirect("home")
    messages.success(request, f"{membership.user.email} no longer has access to {membership.tenant.name}.")
    return redirect("members")


@tenant_required(write=Permission.MANAGE_MEMBERS)
@require_POST
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_get(tenant=request.tenant, invitation_id=invitation_id)  # type: ignore[attr-defined]
    try:
        services.invitation_cancel(invitation=invitation, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        _refused(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation of {invitation.email} cancelled: its link no longer works.")
    return redirect("members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone with the link sees whom it invites; joining takes signing in with that email."""
    try:
        invitation = services.invitation_from_token(token=token)
    except ApplicationError as exc:
        return render(request, "accounts/invitation.html", {"error": exc.message}, status=400)
    error = None
    unverified = request.user.is_authenticated and not selectors.email_is_verified(user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.invitation_accept(token=token, user=request.user)  # type: ignore[arg-type]
        except ApplicationError as exc:
            error = exc.message
        else:
            request.session[SESSION_KEY] = membership.tenant_id
            messages.success(request, f"Welcome to {membership.tenant.name}.")
            return redirect("dashboard")
    context = {"invitation": invitation, "error": error, "unverified": unverified}
    return render(request, "accounts/invitation.html", context)


class VerifyingPasswordResetConfirmView(PasswordResetConfirmView):
    """A password reset proves the mailbox too: the address counts as confirmed."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.email_mark_verified(user=form.user)
        return response


@method_decorator(login_rate_limited, name="dispatch")
class EmailLoginView(LoginView):
    """The login page: by email (accounts.forms), attempts bounded per address; axes locks an email."""

    authentication_form = EmailAuthenticationForm


class LogoutWithMessageView(LogoutView):
    """Log out, and say so on the login page it lands on (else it looks as if nothing happened)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            # Added after the session is flushed: the message travels in its own cookie.
            messages.info(request, "You have been logged out.")
        return response


@method_decorator(password_reset_rate_limited, name="dispatch")
class LimitedPasswordResetView(PasswordResetView):
    def form_valid(self, form: Any) -> HttpResponse:
        if not password_reset_email_allowed(form.cleaned_data["email"]):
            # The same answer as a sent email: whether the address has an account stays unknown.
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
