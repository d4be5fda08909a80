"""Local development only: the admin login (and the demo's API key) that `make run` and `make demo` print.

Both are kept in a login file (var/login.txt) and reused on every run: a new password each run
logged the browser out, and a new key each `make demo` piled up keys. A password that no longer
matches (changed on the profile page) or a key that was revoked is replaced and the file rewritten.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Membership
from accounts.services import api_key_authenticate, api_key_create, email_mark_verified, tenant_create

EMAIL = "admin@localhost"
FIELDS = {"email": "email", "password": "password", "api_key": "API key"}


def login_read(path: Path) -> dict[str, str]:
    """The values a login file holds (``label: value`` lines), by field; {} when there is none."""
    labels = {label: field for field, label in FIELDS.items()}
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            label, _, value = line.partition(": ")
            if label.strip() in labels and value.strip():
                values[labels[label.strip()]] = value.strip()
    return values


def login_write(path: Path, *, url: str, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "BotPresto on this machine (make run / make demo). Kept across runs: delete this file for a new password.",
        f"address: {url}",
        *(f"{label}: {values[field]}" for field, label in FIELDS.items() if values.get(field)),
    ]
    # Only its owner may read it: it holds a password and a key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")


class Command(BaseCommand):
    help = "Local development only: the admin account (and an API key) kept in a login file, and printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--login-file", default=str(Path(settings.VAR_DIR) / "login.txt"))
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="the address to print")
        parser.add_argument("--api-key", metavar="NAME", help="also keep an API key of this name")

    def handle(self, *args: Any, login_file: str, url: str, api_key: str | None, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("dev_admin only runs with DEBUG on.")
        path = Path(login_file)
        values = login_read(path)
        with transaction.atomic():
            user, _ = get_user_model().objects.get_or_create(username=EMAIL, defaults={"email": EMAIL})
            if not (values.get("password") and user.check_password(values["password"])):
                values["password"] = secrets.token_urlsafe(9)
                user.set_password(values["password"])
            user.is_staff = user.is_superuser = user.is_active = True
            user.save()
            email_mark_verified(user=user)
            membership = Membership.objects.filter(user=user).select_related("tenant").order_by("id").first()
            tenant = membership.tenant if membership else tenant_create(name="Local", owner=user)
            if api_key and not (values.get("api_key") and api_key_authenticate(plaintext=values["api_key"])):
                values["api_key"] = api_key_create(tenant=tenant, name=api_key, created_by=user).plaintext
        values["email"] = EMAIL
        login_write(path, url=url, values=values)
        self.stdout.write(f"\n  BotPresto runs at {url}")
        self.stdout.write(
            f"  Log in (admin too, at {url.rstrip('/')}/admin/) as {EMAIL} with password {values['password']}"
        )
        if values.get("api_key"):
            self.stdout.write(f"  API key: {values['api_key']}")
        self.stdout.write(f"  (kept in {path}, the same on every run)\n")
