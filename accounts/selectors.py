from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import ApiKey, Invitation, Membership, Profile, Tenant


def tenants_for_user(*, user: User | AnonymousUser) -> QuerySet[Tenant]:
    if not user.is_authenticated:
        return Tenant.objects.none()
    return Tenant.objects.filter(memberships__user=user).order_by("name", "id")


def tenant_get_for_user(*, user: User, tenant_id: int | None) -> Tenant | None:
    """The tenant chosen in this session, else the one they used last, else the first they joined.

    Never "the first by name": anyone who could add a person to a tenant named "AAA" would
    choose where they land (and what they might paste a token into).
    """
    tenants = tenants_for_user(user=user)
    last = Profile.objects.filter(user=user).values_list("last_tenant_id", flat=True).first()
    for chosen in (tenant_id, last):
        if chosen is not None:
            tenant = tenants.filter(id=chosen).first()
            if tenant is not None:
                return tenant
    first = Membership.objects.filter(user=user).order_by("created_at", "id").select_related("tenant").first()
    return first.tenant if first else None


def email_is_verified(*, user: User) -> bool:
    return Profile.objects.filter(user=user, email_verified_at__isnull=False).exists()


def membership_role(*, user: User, tenant: Tenant) -> str | None:
    return Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()


def api_keys_for_tenant(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant).select_related("created_by")


def api_key_get(*, tenant: Tenant, key_id: int) -> ApiKey:
    api_key = api_keys_for_tenant(tenant=tenant).filter(id=key_id).first()
    if api_key is None:
        raise Http404("No such key.")
    return api_key


def memberships_for_tenant(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")


def membership_get(*, tenant: Tenant, membership_id: int) -> Membership:
    membership = memberships_for_tenant(tenant=tenant).select_related("tenant").filter(id=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitations_for_tenant(*, tenant: Tenant) -> QuerySet[Invitation]:
    return Invitation.objects.filter(tenant=tenant).select_related("invited_by").order_by("email")


def invitation_get(*, tenant: Tenant, invitation_id: int) -> Invitation:
    invitation = invitations_for_tenant(tenant=tenant).select_related("tenant").filter(id=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation
