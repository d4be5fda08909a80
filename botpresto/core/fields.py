"""A model field that keeps a string sealed with AES-GCM (see botpresto.core.crypto)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import models
from django.db.models.lookups import IsNull

from botpresto.core.crypto import DecryptionError, key_ring


class Secret(str):
    """A decrypted value: a plain string whose repr never shows it.

    Error pages and debuggers print locals with repr(); str() and formatting
    still give the value to the code that needs it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"


class Unreadable:
    """A stored value that does not decrypt (its key is gone, the value was damaged).

    The row still loads, so one bad value cannot break a whole list, a page or the
    proxy's route table; using the value raises DecryptionError, never hands back
    ciphertext. Templates show it as empty (DecryptionError fails silently there).
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __str__(self) -> str:
        raise DecryptionError(self.reason)

    def __repr__(self) -> str:
        return "<unreadable>"

    def __bool__(self) -> bool:
        return True  # a value is stored; that it cannot be read is said when it is used


def unreadable_fields(instance: models.Model) -> list[str]:
    """The encrypted fields of a row whose stored values do not decrypt."""
    return [
        field.name
        for field in instance._meta.concrete_fields
        if isinstance(field, EncryptedTextField) and isinstance(instance.__dict__.get(field.attname), Unreadable)
    ]


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

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | Unreadable | None:
        if value is None:
            return None
        try:
            return Secret(key_ring().open(value, context=self.context))
        except DecryptionError as exc:
            return Unreadable(str(exc))

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, Secret | Unreadable):
            return value
        return Secret(str(value))

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return key_ring().seal(str(value), context=self.context)
