"""Sign-up and email confirmation.

An account whose address was never confirmed cannot create or join a tenant: otherwise anyone
could sign up as ``carol@victim.example`` and be let in when an owner invites carol. Sign-up
answers the same whether the address is new or taken (the mailbox is told which), so nobody
learns from us who has an account.

The confirmation link works only in the browser that signed up or for someone logged in as
that account: a link the owner of the mailbox did not ask for (someone else signed up with
their address) cannot confirm that stranger's account for them.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import Profile, Tenant
from accounts.services import email_mark_verified, mail_send, tenant_create
from botpresto.core.errors import ApplicationError

logger = logging.getLogger(__name__)

VERIFY_MAX_AGE_DAYS = 3
_SALT = "botpresto.accounts.email_verification"


def email_normalize(email: str) -> str:
    return get_user_model().objects.normalize_email(email.strip()).lower()


def user_create(*, email: str, password: str | None = None, email_verified: bool = False) -> User:
    """A person; ``email_verified`` only for accounts an operator vouches for (commands, tests)."""
    email = email_normalize(email)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=email, email=email, password=password)
        Profile.objects.create(user=user, email_verified_at=timezone.now() if email_verified else None)
    return user


def user_sign_up(*, email: str, password: str, organisation: str = "", next_url: str = "") -> User | None:
    """Create an unconfirmed account and email its link; returns it, or None when the address is taken.

    The caller answers the same either way. A taken address is told by email what to do: log in, or
    reset the password (which also confirms the address, so the mailbox's owner wins a squatted
    account back).
    """
    email = email_normalize(email)
    if get_user_model().objects.filter(username__iexact=email).exists():
        make_password(password)  # as slow as creating an account: the answer's timing tells nothing
        try:
            mail_send(
                to=email,
                subject="Your BotPresto account",
                template="accounts/email/signup_exists.txt",
                context={
                    "login": f"{settings.PUBLIC_URL}{reverse('login')}",
                    "reset": f"{settings.PUBLIC_URL}{reverse('password_reset')}",
                },
            )
        except OSError:
            raise _mail_failed() from None
        logger.info("signup_address_taken")
        return None
    user = user_create(email=email, password=password)
    # No organisation for someone signing up to accept an invitation: they join that one.
    email_verification_send(user=user, organisation=None if next_url else (organisation or ""), next_url=next_url)
    logger.info("signup user=%s", user.id)
    return user


def _state(user: User) -> str:
    # Changes when the address, the password or the confirmation does: older links stop working.
    verified = Profile.objects.filter(user=user).values_list("email_verified_at", flat=True).first()
    return salted_hmac(_SALT, f"{user.email}|{user.password}|{verified}", algorithm="sha256").hexdigest()[:20]


def email_verification_link(*, user: User, organisation: str | None, next_url: str = "") -> str:
    token = signing.dumps({"u": user.pk, "o": organisation, "s": _state(user)}, salt=_SALT, compress=True)
    link = f"{settings.PUBLIC_URL}{reverse('email_verify', args=[token])}"
    return f"{link}?{urlencode({'next': next_url})}" if next_url else link


def email_verification_send(*, user: User, organisation: str | None = None, next_url: str = "") -> None:
    try:
        mail_send(
            to=user.email,
            subject="Confirm your email address for BotPresto",
            template="accounts/email/verify.txt",
            context={
                "link": email_verification_link(user=user, organisation=organisation, next_url=next_url),
                "days": VERIFY_MAX_AGE_DAYS,
            },
        )
    except OSError:
        # The account stays; the link can be asked for again once logged in.
        raise _mail_failed() from None


def _mail_failed() -> ApplicationError:
    return ApplicationError(
        "We could not send the email; try again in a minute.", code="email_unavailable", http_status=503
    )


def email_verification_read(*, token: str) -> tuple[User, str | None]:
    """The account a link confirms and the organisation to create for it (None: none)."""
    try:
        data: dict[str, Any] = signing.loads(token, salt=_SALT, max_age=VERIFY_MAX_AGE_DAYS * 24 * 3600)
    except signing.SignatureExpired:
        raise ApplicationError("This link has expired: log in and ask for a new one.", code="link_expired") from None
    except signing.BadSignature:
        raise ApplicationError("This link is not valid.", code="link_invalid") from None
    user = get_user_model().objects.filter(pk=int(data.get("u") or 0), is_active=True).first()
    if user is None or not constant_time_compare(str(data.get("s", "")), _state(user)):
        raise ApplicationError(
            "This link was already used or replaced by a newer one. Log in to continue.", code="link_used"
        )
    return user, data.get("o")


def email_verify(*, user: User, organisation: str | None) -> Tenant | None:
    """Confirm the address; a new account gets its first tenant, of which it is the owner."""
    with transaction.atomic():
        email_mark_verified(user=user)
        if organisation is None or user.memberships.exists():
            return None
        return tenant_create(name=organisation or user.email.split("@")[0], owner=user)
