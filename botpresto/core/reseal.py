"""Re-seal a table's encrypted column as this service seals today: row-bound (v2) under the
primary key. Shared by rotate_encryption_keys and the migration that binds values to their rows.

Raw SQL: the ORM would open on read, and lookups on the column are refused. Each row is
rewritten with a compare-and-set, so a value written meanwhile wins; a value that does not
open is left as it is and reported (nothing is ever lost or overwritten with less).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction

from botpresto.core.crypto import VERSION, DecryptionError, KeyRing
from botpresto.core.fields import row_id


@dataclass
class ResealCounts:
    resealed: int = 0
    current: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def reseal_column(
    *,
    ring: KeyRing,
    table: str,
    column: str,
    row_column: str,
    context: str,
    batch_size: int = 500,
    on_error: Callable[[str], None] | None = None,
    version: str = VERSION,
) -> ResealCounts:
    quote = connection.ops.quote_name
    t, c, r = quote(table), quote(column), quote(row_column)
    counts = ResealCounts()
    last = None
    while True:
        with connection.cursor() as cursor:
            where = f"{c} IS NOT NULL" + (f" AND {r} > %s" if last is not None else "")
            sql = f"SELECT {r}, {c} FROM {t} WHERE {where} ORDER BY {r} LIMIT %s"  # noqa: S608
            cursor.execute(sql, [last, batch_size] if last is not None else [batch_size])
            rows = cursor.fetchall()
        if not rows:
            return counts
        with transaction.atomic():
            for raw_row, sealed in rows:
                last = raw_row
                row = row_id(raw_row)
                try:
                    if ring.is_current(sealed, version=version):
                        counts.current += 1
                        continue
                    plain = ring.open(sealed, context=context, row=row)
                except DecryptionError as exc:
                    counts.failed += 1
                    message = f"{context} row {row}: {exc}"
                    counts.errors.append(message)
                    if on_error is not None:
                        on_error(message)
                    continue
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {t} SET {c} = %s WHERE {r} = %s AND {c} = %s",  # noqa: S608
                        [ring.seal(plain, context=context, row=row, version=version), raw_row, sealed],
                    )
                counts.resealed += 1
