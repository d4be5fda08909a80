"""A model field that keeps a string sealed with AES-GCM (see botpresto.core.crypto)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core import checks
from django.db import models
from django.db.models.lookups import IsNull
from django.db.models.query_utils import DeferredAttribute

from botpresto.core.crypto import DecryptionError, key_ring


class Secret(str):
    """A decrypted value: a plain string whose repr never shows it.

    Error pages and debuggers print locals with repr(); str() and formatting
    still give the value to the code that needs it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"


class Sealed(str):
    """A value as stored, not opened yet: the row it belongs to opens it on first access."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<sealed>'"


def row_id(value: Any) -> str:
    """A row's binding as text, the same from the ORM (a UUID) and from raw SQL (hex on SQLite)."""
    return str(uuid.UUID(str(value))) if not isinstance(value, uuid.UUID) else str(value)


class _OpenedOnAccess(DeferredAttribute):
    """Opens the sealed value the first time the attribute is read, with the instance's row at hand.

    The database layer hands values over without their row (from_db_value knows no instance),
    and a value bound to its row can only be opened knowing the row.
    """

    field: EncryptedTextField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = self.field.open(value, instance=instance)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # A data descriptor (it has __set__), so reads come through __get__ even once the
        # instance's __dict__ holds the value.
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Stores ``v2:<key id>:<sealed>``, bound to its column and to its row; hands back a :class:`Secret`.

    ``row`` names the field that identifies the row and is known before it is inserted (a
    uuid with a default): it is sealed into the associated data, so a value copied into another
    row does not open. Because sealing needs the instance, the field is written only through
    ``save()``/``create()`` (``QuerySet.update`` cannot seal it and is refused).

    Ciphertext cannot be compared, so the field refuses unique, indexes and every lookup but
    ``isnull``. ``values()``/``values_list()`` give :class:`Sealed` values, never the plain text.
    """

    descriptor_class = _OpenedOnAccess

    def __init__(self, *args: Any, row: str = "uuid", **kwargs: Any) -> None:
        for option in ("unique", "db_index", "primary_key"):
            if kwargs.get(option):
                raise ValueError(f"EncryptedTextField cannot be {option}: ciphertext cannot be compared.")
        self.row = row
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.row != "uuid":
            kwargs["row"] = self.row
        return name, path, args, kwargs

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        model = self.model
        for index in model._meta.indexes:
            if self.name in index.fields:
                errors.append(checks.Error(f"{self.name} is encrypted and cannot be indexed.", obj=self))
        bound = self._row_field()
        if bound is None or not (bound.unique and bound.has_default()):
            errors.append(
                checks.Error(f"{self.name} is bound to {self.row!r}, which must be a unique field with a default.")
            )
        return errors

    def _row_field(self) -> models.Field[Any, Any] | None:
        try:
            bound = self.model._meta.get_field(self.row)
        except Exception:
            return None
        return bound if isinstance(bound, models.Field) else None

    @property
    def row_column(self) -> str:
        bound = self._row_field()
        if bound is None or not bound.column:
            raise TypeError(f"{self.name} is bound to {self.row!r}, which is not a column.")
        return bound.column

    @property
    def context(self) -> str:
        # Associated data binding the value to its column (the row is added at seal time).
        return f"{self.model._meta.label_lower}.{self.name}"

    def row_of(self, instance: Any) -> str:
        return row_id(getattr(instance, self.row))

    def open(self, sealed: str, *, instance: Any) -> Secret:
        return Secret(key_ring().open(sealed, context=self.context, row=self.row_of(instance)))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise TypeError(f"{self.name} is encrypted: only the isnull lookup works on it.")
        return IsNull

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Sealed | None:
        return None if value is None else Sealed(value)

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, Secret | Sealed):
            return value
        return Secret(str(value))

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.attname)  # opened first if it was only read
        if value is None:
            return None
        return Sealed(key_ring().seal(str(value), context=self.context, row=self.row_of(model_instance)))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return str(value)  # a plain str for the database adapter
        raise TypeError(
            f"{self.name} is sealed for its row when the instance is saved: use save() or create(), not update()."
        )


def unreadable_fields(instance: models.Model) -> list[str]:
    """The encrypted fields of a row whose stored values do not open (a key gone, a value damaged)."""
    names = []
    for field in instance._meta.concrete_fields:
        if isinstance(field, EncryptedTextField):
            try:
                getattr(instance, field.attname)
            except DecryptionError:
                names.append(field.name)
    return names
