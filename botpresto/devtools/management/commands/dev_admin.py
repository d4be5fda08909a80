from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Membership
from accounts.services import email_mark_verified, tenant_create

EMAIL = "admin@localhost"


class Command(BaseCommand):
    help = "Local development only: (re)create the admin account with a fresh password and print it."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("dev_admin only runs with DEBUG on.")
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=EMAIL, defaults={"email": EMAIL})
        password = secrets.token_urlsafe(9)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        email_mark_verified(user=user)
        if not Membership.objects.filter(user=user).exists():
            tenant_create(name="Local", owner=user)
        self.stdout.write(f"{EMAIL} {password}")
