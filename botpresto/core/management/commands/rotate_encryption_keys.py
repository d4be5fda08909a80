from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from botpresto.core.crypto import DecryptionError, key_ring
from botpresto.core.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-seal every encrypted value under the primary key of ENCRYPTION_KEYS. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        ring = key_ring()
        total = {"resealed": 0, "current": 0, "failed": 0}
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, EncryptedTextField):
                    counts = self._rotate(model, field, ring, batch_size)
                    for key in total:
                        total[key] += counts[key]
                    self.stdout.write(
                        f"{field.context}: {counts['resealed']} re-sealed, {counts['current']} already current, "
                        f"{counts['failed']} failed"
                    )
        self.stdout.write(
            f"total: {total['resealed']} re-sealed, {total['current']} already current, {total['failed']} failed"
        )
        if total["failed"]:
            raise SystemExit(1)

    def _rotate(self, model: Any, field: EncryptedTextField, ring: Any, batch_size: int) -> dict[str, int]:
        # Raw SQL: the ORM would decrypt on read, and lookups on the field are refused.
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(field.column)
        pk = connection.ops.quote_name(model._meta.pk.column)
        counts = {"resealed": 0, "current": 0, "failed": 0}
        last = None
        while True:
            with connection.cursor() as cursor:
                where = f"{column} IS NOT NULL" + (f" AND {pk} > %s" if last is not None else "")
                sql = f"SELECT {pk}, {column} FROM {table} WHERE {where} ORDER BY {pk} LIMIT %s"  # noqa: S608
                cursor.execute(sql, [last, batch_size] if last is not None else [batch_size])
                rows = cursor.fetchall()
            if not rows:
                return counts
            with transaction.atomic():
                for row_pk, sealed in rows:
                    last = row_pk
                    try:
                        if ring.key_id_of(sealed) == ring.primary.id:
                            counts["current"] += 1
                            continue
                        plain = ring.open(sealed, context=field.context)
                    except DecryptionError as exc:
                        self.stderr.write(f"{field.context} row {row_pk}: {exc}")
                        counts["failed"] += 1
                        continue
                    with connection.cursor() as cursor:
                        # Compare-and-set: a concurrent write of a new value wins.
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",  # noqa: S608
                            [ring.seal(plain, context=field.context), row_pk, sealed],
                        )
                    counts["resealed"] += 1
