"""The one signal here: staff deactivate a person by editing the user row (admin, shell), not
through a service of ours, so their API keys are revoked when that row is saved inactive."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User


def user_saved(sender: type[User], instance: User, **kwargs: Any) -> None:
    if not instance.is_active:
        from accounts.services import api_keys_revoke_for_member

        api_keys_revoke_for_member(user=instance)
