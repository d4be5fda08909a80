"""What each role may do in a tenant: the one table the pages, the API and the services read.

Pages check it with ``accounts.tenancy.tenant_required(read=..., write=...)``, the API with
:class:`RolePermission` (each view names the permission its writes need) and the services that
change members and keys with :func:`role_required`. A view that accepts writes and names no
permission for them refuses every write, so forgetting one fails closed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Membership, Tenant
from botpresto.core.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request
    from rest_framework.views import APIView

Role = Membership.Role


class Permission(StrEnum):
    READ = "read"  # bots, statistics, end users, the member and key lists
    MANAGE_BOTS = "manage_bots"  # connect, edit, rotate the token, disconnect, reconnect, delete; see secrets
    MANAGE_KEYS = "manage_keys"  # create and revoke API keys (anyone's)
    MANAGE_MEMBERS = "manage_members"  # invite, change roles, remove members, cancel invitations
    MANAGE_OWNERS = "manage_owners"  # the same for owners: make someone owner, demote or remove an owner


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission) - {Permission.MANAGE_OWNERS},
    Role.MEMBER: frozenset({Permission.READ, Permission.MANAGE_BOTS}),
    Role.VIEWER: frozenset({Permission.READ}),
}

# How a refusal names what was refused.
_DOING = {
    Permission.READ: "see this organisation",
    Permission.MANAGE_BOTS: "change bots",
    Permission.MANAGE_KEYS: "manage API keys",
    Permission.MANAGE_MEMBERS: "manage members",
    Permission.MANAGE_OWNERS: "manage owners",
}


def role_can(role: str | None, permission: Permission) -> bool:
    return role is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())


def permissions_of(role: str | None) -> dict[str, bool]:
    """For templates: ``can.manage_bots`` and so on."""
    return {permission.value: role_can(role, permission) for permission in Permission}


def refusal(*, role: str | None, permission: Permission, tenant_name: str) -> str:
    who = f"{Role(role).label.lower()}s" if role in Role.values else "people outside it"
    return f"In {tenant_name}, {who} cannot {_DOING[permission]}."


def role_required(*, tenant: Tenant, user: User, permission: Permission) -> str:
    """The person's role in the tenant, when it grants ``permission``; else ApplicationError (403)."""
    role = Membership.objects.filter(tenant=tenant, user=user).values_list("role", flat=True).first()
    if not role_can(role, permission):
        raise ApplicationError(
            refusal(role=role, permission=permission, tenant_name=tenant.name),
            code="permission_denied",
            http_status=403,
        )
    return str(role)


class RolePermission(BasePermission):
    """The API's check: reads need READ, writes the view's ``write_permission`` (none: refused).

    A key acts with the current role of the member who made it (accounts.authentication).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        principal = request.user
        role = getattr(principal, "role", None)
        if role is None:
            return False  # not authenticated: DRF answers 401
        if not hasattr(view, str(request.method).lower()):
            return True  # a method the view does not have: DRF answers 405
        needed: Permission | None = (
            Permission.READ if request.method in SAFE_METHODS else getattr(view, "write_permission", None)
        )
        if needed is not None and role_can(role, needed):
            return True
        tenant: Any = getattr(principal, "tenant", None)
        if needed is None:
            self.message = "This call changes nothing through the API."
        else:
            self.message = refusal(role=role, permission=needed, tenant_name=tenant.name)
        return False
