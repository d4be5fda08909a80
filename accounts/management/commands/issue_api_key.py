from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Membership, Tenant
from accounts.services import api_key_create, tenant_create
from accounts.signup import user_create
from botpresto.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Issue an API key for EMAIL (creating the person and tenant when missing). The key is the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--tenant", help="tenant name (default: the person's first tenant, or a new one)")
        parser.add_argument("--name", default="issued by command")

    def handle(self, *args: Any, email: str, tenant: str | None, name: str, **options: Any) -> None:
        User = get_user_model()
        email = email.strip().lower()
        with transaction.atomic():
            user = User.objects.filter(username=email).first()
            if user is None:
                # No usable password: the person sets one through password reset. The operator
                # vouches for the address.
                user = user_create(email=email, email_verified=True)
                self.stdout.write(f"created user {email}")
            try:
                chosen = self._tenant(user, tenant)
                issued = api_key_create(tenant=chosen, name=name, created_by=user)
            except ApplicationError as exc:  # a member or viewer there, or an unconfirmed address
                raise CommandError(exc.message) from None
        self.stdout.write(f"tenant {chosen.name} (id {chosen.id}), key prefix {issued.api_key.prefix}")
        self.stdout.write(issued.plaintext)

    def _tenant(self, user: Any, name: str | None) -> Tenant:
        memberships = (
            Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name", "tenant_id")
        )
        if name:
            for membership in memberships:
                if membership.tenant.name == name:
                    return membership.tenant
        else:
            first = memberships.first()
            if first is not None:
                return first.tenant
        self.stdout.write(f"created tenant {name or user.email}")
        return tenant_create(name=name or user.email.split("@")[0] or f"tenant-{secrets.token_hex(3)}", owner=user)
