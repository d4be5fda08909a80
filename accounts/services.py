from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import ApiKey, Membership, Tenant
from botpresto.errors import ApplicationError

KEY_PREFIX = "bp_"
_LAST_USED_PRECISION = timedelta(minutes=1)  # saves a write on every request


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown once, never stored


def tenant_create(*, name: str, owner: User) -> Tenant:
    with transaction.atomic():
        tenant = Tenant.objects.create(name=name.strip() or "My organisation")
        Membership.objects.create(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    return tenant


def user_sign_up(*, email: str, password: str, organisation: str = "") -> tuple[User, Tenant]:
    """Create a person and their first tenant, in which they are the owner."""
    email = get_user_model().objects.normalize_email(email).lower()
    User = get_user_model()
    if User.objects.filter(username=email).exists():
        raise ApplicationError("An account with this email already exists.", field="email")
    with transaction.atomic():
        user = User.objects.create_user(username=email, email=email, password=password)
        tenant = tenant_create(name=organisation or email.split("@")[0], owner=user)
    return user, tenant


def _hash(key: str) -> str:
    return salted_hmac("botpresto.accounts.api_key", key, algorithm="sha256").hexdigest()


def api_key_create(*, tenant: Tenant, name: str, created_by: User | None = None) -> IssuedKey:
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant=tenant, created_by=created_by, name=name.strip() or "API key", prefix=prefix, hashed=_hash(plaintext)
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, plaintext: str) -> ApiKey | None:
    """The active key for this plaintext, or None. Compared in constant time."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, _, rest = plaintext[len(KEY_PREFIX) :].partition("_")
    if not prefix or not rest:
        return None
    api_key = ApiKey.objects.select_related("tenant").filter(prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.hashed, _hash(plaintext)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def membership_add(*, tenant: Tenant, email: str, role: str = Membership.Role.MEMBER) -> Membership:
    """Add an existing person to a tenant (invitations by email build on this)."""
    User = get_user_model()
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise ApplicationError("No account uses this email yet; ask them to sign up first.", field="email")
    membership, _ = Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
    return membership
