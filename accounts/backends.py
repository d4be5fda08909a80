"""Logging in with an email address, whatever its case."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest


class EmailBackend(ModelBackend):
    """Sign-up keeps the address lowercased as the username; people type it as they like."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None or password is None:
            return None
        User = get_user_model()
        user = User._default_manager.filter(username__iexact=str(username).strip()).order_by("id").first()
        if user is None:
            User().set_password(password)  # as slow as a wrong password: the answer's timing tells nothing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
