"""A model field that keeps a string sealed with AES-GCM (see botpresto.core.crypto)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import models
from django.db.models.lookups import IsNull

from botpresto.core.crypto import key_ring


class Secret(str):
    """A decrypted value: a plain string whose repr never shows it.

    Error pages and debuggers print locals with repr(); str() and formatting
    still give the value to the code that needs it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"


class EncryptedTextField(models.TextField):
    """Stores ``v1:<key id>:<sealed>``; hands back a :class:`Secret`.

    Ciphertext cannot be compared, so the field refuses unique, indexes and
    every lookup but ``isnull``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for option in ("unique", "db_index", "primary_key"):
            if kwargs.get(option):
                raise ValueError(f"EncryptedTextField cannot be {option}: ciphertext cannot be compared.")
        super().__init__(*args, **kwargs)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        model = self.model
        for index in model._meta.indexes:
            if self.name in index.fields:
                errors.append(checks.Error(f"{self.name} is encrypted and cannot be indexed.", obj=self))
        return errors

    @property
    def context(self) -> str:
        # Associated data binding the value to its column.
        return f"{self.model._meta.label_lower}.{self.name}"

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise TypeError(f"{self.name} is encrypted: only the isnull lookup works on it.")
        return IsNull

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | None:
        if value is None:
            return None
        return Secret(key_ring().open(value, context=self.context))

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, Secret):
            return value
        return Secret(str(value))

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return key_ring().seal(str(value), context=self.context)
