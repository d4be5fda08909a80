from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import ApiKey, Invitation, Membership, Profile, Tenant
from accounts.permissions import Permission, role_required
from accounts.selectors import email_is_verified
from botpresto.core.errors import ApplicationError
from botpresto.core.throttle import rate_limit_hit

logger = logging.getLogger(__name__)

KEY_PREFIX = "bp_"
INVITATION_MAX_AGE = timedelta(days=7)
_INVITATION_SALT = "botpresto.accounts.invitation"
_LAST_USED_PRECISION = timedelta(minutes=1)  # saves a write on every request


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown once, never stored


def tenant_create(*, name: str, owner: User) -> Tenant:
    email_verified_required(user=owner)
    with transaction.atomic():
        tenant = Tenant.objects.create(name=name.strip() or "My organisation")
        Membership.objects.create(tenant=tenant, user=owner, role=Membership.Role.OWNER)
        tenant_use(user=owner, tenant=tenant)
    return tenant


def tenant_use(*, user: User, tenant: Tenant) -> None:
    """Remember the tenant a person chose: they land there next time (not in the first by name,
    which anyone who adds them to a tenant called "AAA" would choose for them)."""
    Profile.objects.update_or_create(user=user, defaults={"last_tenant": tenant})


def email_mark_verified(*, user: User) -> bool:
    """Their address is proven (a link opened, a password reset completed); returns whether it was news."""
    profile, _ = Profile.objects.get_or_create(user=user)
    if profile.email_verified_at is not None:
        return False
    profile.email_verified_at = timezone.now()
    profile.save(update_fields=["email_verified_at"])
    logger.info("email_verified user=%s", user.id)
    return True


def email_verified_required(*, user: User) -> None:
    if not email_is_verified(user=user):
        raise ApplicationError(
            f"Confirm your email address first: open the link we sent to {user.email}.",
            code="email_unverified",
            http_status=403,
        )


def _hash(key: str) -> str:
    return salted_hmac("botpresto.accounts.api_key", key, algorithm="sha256").hexdigest()


def api_key_create(*, tenant: Tenant, name: str, created_by: User) -> IssuedKey:
    """A key for ``created_by``, who must be allowed to manage keys; it acts with their role."""
    role_required(tenant=tenant, user=created_by, permission=Permission.MANAGE_KEYS)
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant=tenant, created_by=created_by, name=name.strip() or "API key", prefix=prefix, hashed=_hash(plaintext)
    )
    logger.info("api_key_created tenant=%s key=%s user=%s", tenant.id, prefix, created_by.id)
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def api_key_revoke(*, api_key: ApiKey, actor: User) -> ApiKey:
    role_required(tenant=api_key.tenant, user=actor, permission=Permission.MANAGE_KEYS)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        logger.info("api_key_revoked tenant=%s key=%s by=%s", api_key.tenant_id, api_key.prefix, actor.id)
    return api_key


def api_keys_revoke_for_member(*, user: User, tenant: Tenant | None = None) -> int:
    """Revoke the keys a person made (in one tenant, or everywhere): they left, were removed or deactivated."""
    keys = ApiKey.objects.filter(created_by=user, revoked_at__isnull=True)
    if tenant is not None:
        keys = keys.filter(tenant=tenant)
    revoked = keys.update(revoked_at=timezone.now())
    if revoked:
        logger.info("api_keys_revoked user=%s tenant=%s count=%s", user.id, tenant.id if tenant else "*", revoked)
    return revoked


def api_key_authenticate(*, plaintext: str) -> tuple[ApiKey, str] | None:
    """The active key for this plaintext and the role it acts with, or None. Compared in constant time.

    The role is read on every request, so a key follows its maker's role at once; a key whose
    maker left the tenant or was deactivated does not work even before it is marked revoked.
    """
    if not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, _, rest = plaintext[len(KEY_PREFIX) :].partition("_")
    if not prefix or not rest:
        return None
    api_key = (
        ApiKey.objects.select_related("tenant", "created_by")
        .filter(prefix=prefix, revoked_at__isnull=True, created_by__is_active=True)
        .annotate(
            role=Subquery(
                Membership.objects.filter(tenant=OuterRef("tenant"), user=OuterRef("created_by")).values("role")[:1]
            )
        )
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.hashed, _hash(plaintext)):
        return None
    role = api_key.role  # type: ignore[attr-defined]
    if role is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key, str(role)


def _role_check(role: str) -> str:
    if role not in Membership.Role.values:
        raise ApplicationError("A role is owner, admin, member or viewer.", field="role")
    return role


def _members_permission(*roles: str) -> Permission:
    """Changing an owner, or making someone owner, takes an owner; the other roles an admin."""
    return Permission.MANAGE_OWNERS if Membership.Role.OWNER in roles else Permission.MANAGE_MEMBERS


def _other_owner_exists(*, membership: Membership) -> bool:
    """Locks the tenant's owner rows, so two owners cannot remove each other at once."""
    owners = Membership.objects.select_for_update().filter(tenant_id=membership.tenant_id, role=Membership.Role.OWNER)
    return any(owner.pk != membership.pk for owner in owners)


def membership_invite(*, tenant: Tenant, email: str, role: str, invited_by: User) -> Invitation:
    """Email a link that the recipient opens to join; nobody is added without accepting, and the
    answer is the same whether the address has an account or not."""
    role_required(tenant=tenant, user=invited_by, permission=_members_permission(_role_check(role)))
    wait = rate_limit_hit(
        bucket="invitations-tenant", key=str(tenant.id), limit=settings.INVITATIONS_PER_TENANT_DAY, window=24 * 3600
    )
    if wait is not None:
        raise ApplicationError(
            f"{tenant.name} sent {settings.INVITATIONS_PER_TENANT_DAY} invitations today, the most a day. "
            "Try again tomorrow.",
            code="invitation_limit",
            retry_after=wait,
            http_status=429,
        )
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise ApplicationError(f"{email} is already a member of {tenant.name}.", field="email")
    with transaction.atomic():
        Invitation.objects.filter(tenant=tenant, email=email).delete()  # an earlier link stops working
        invitation = Invitation.objects.create(tenant=tenant, email=email, role=role, invited_by=invited_by)
    try:
        mail_send(
            to=email,
            subject=f"{invited_by.email} invites you to {tenant.name} on BotPresto",
            template="accounts/email/invitation.txt",
            context={
                "tenant": tenant,
                "role": invitation.get_role_display(),
                "invited_by": invited_by,
                "link": invitation_link(invitation),
                "days": INVITATION_MAX_AGE.days,
            },
        )
    except OSError:
        invitation.delete()
        raise ApplicationError("We could not send the invitation email; try again in a minute.") from None
    logger.info("invitation_sent tenant=%s invitation=%s role=%s", tenant.id, invitation.id, role)
    return invitation


def mail_send(*, to: str, subject: str, template: str, context: dict[str, object]) -> None:
    send_mail(subject, render_to_string(template, context), settings.DEFAULT_FROM_EMAIL, [to])


def invitation_link(invitation: Invitation) -> str:
    token = signing.dumps(invitation.id, salt=_INVITATION_SALT)
    return f"{settings.PUBLIC_URL}{reverse('invitation_accept', args=[token])}"


def invitation_from_token(*, token: str) -> Invitation:
    """The pending invitation a link stands for; ApplicationError when it expired, was used or cancelled."""
    try:
        invitation_id = signing.loads(token, salt=_INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ApplicationError("This invitation has expired. Ask for a new one.", code="invitation_expired") from None
    except signing.BadSignature:
        raise ApplicationError("This invitation link is not valid.", code="invitation_invalid") from None
    invitation = Invitation.objects.select_related("tenant").filter(id=invitation_id).first()
    if invitation is None:
        raise ApplicationError(
            "This invitation was already used or was cancelled. Ask for a new one.", code="invitation_gone"
        )
    return invitation


def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = invitation_from_token(token=token)
    if (user.email or "").lower() != invitation.email:
        raise ApplicationError(
            f"This invitation is for {invitation.email}, and you are logged in as {user.email}. "
            "Log out, then log in or sign up with that address.",
            code="invitation_other_email",
        )
    email_verified_required(user=user)
    with transaction.atomic():
        membership, _ = Membership.objects.get_or_create(
            tenant=invitation.tenant, user=user, defaults={"role": invitation.role}
        )
        invitation.delete()
        tenant_use(user=user, tenant=invitation.tenant)
    logger.info("invitation_accepted tenant=%s user=%s", membership.tenant_id, user.id)
    return membership


def invitation_cancel(*, invitation: Invitation, actor: User) -> None:
    role_required(tenant=invitation.tenant, user=actor, permission=_members_permission(invitation.role))
    invitation.delete()


def membership_role_change(*, membership: Membership, role: str, actor: User) -> Membership:
    needed = _members_permission(_role_check(role), membership.role)
    role_required(tenant=membership.tenant, user=actor, permission=needed)
    if role == membership.role:
        return membership
    with transaction.atomic():
        if membership.role == Membership.Role.OWNER and not _other_owner_exists(membership=membership):
            raise ApplicationError(
                f"{membership.tenant.name} needs at least one owner: make someone else owner first.",
                code="last_owner",
            )
        membership.role = role
        membership.save(update_fields=["role"])
    logger.info("membership_role_changed tenant=%s user=%s role=%s", membership.tenant_id, membership.user_id, role)
    return membership


def membership_remove(*, membership: Membership, actor: User) -> None:
    """Owners remove anyone, admins anyone but owners; everyone may leave. The last owner stays.

    The keys the person made for this tenant are revoked in the same transaction.
    """
    if membership.user_id != actor.id:
        role_required(tenant=membership.tenant, user=actor, permission=_members_permission(membership.role))
    with transaction.atomic():
        if membership.role == Membership.Role.OWNER and not _other_owner_exists(membership=membership):
            raise ApplicationError(
                f"{membership.tenant.name} needs at least one owner: make someone else owner first.",
                code="last_owner",
            )
        membership.delete()
        api_keys_revoke_for_member(user=membership.user, tenant=membership.tenant)
    logger.info("membership_removed tenant=%s user=%s", membership.tenant_id, membership.user_id)
