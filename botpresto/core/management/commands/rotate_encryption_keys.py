from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser

from botpresto.core.crypto import key_ring
from botpresto.core.fields import EncryptedTextField
from botpresto.core.reseal import reseal_column


class Command(BaseCommand):
    help = (
        "Re-seal every encrypted value under the primary key of ENCRYPTION_KEYS, bound to its row "
        "(older column-only values too). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        ring = key_ring()
        total = {"resealed": 0, "current": 0, "failed": 0}
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedTextField):
                    continue
                counts = reseal_column(
                    ring=ring,
                    table=model._meta.db_table,
                    column=field.column,
                    row_column=field.row_column,
                    context=field.context,
                    batch_size=batch_size,
                    on_error=self.stderr.write,
                )
                for key in total:
                    total[key] += getattr(counts, key)
                self.stdout.write(
                    f"{field.context}: {counts.resealed} re-sealed, {counts.current} already current, "
                    f"{counts.failed} failed"
                )
        self.stdout.write(
            f"total: {total['resealed']} re-sealed, {total['current']} already current, {total['failed']} failed"
        )
        if total["failed"]:
            raise SystemExit(1)
