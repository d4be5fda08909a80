"""CSV export of a bot's end users, shared by the API and the owner's page."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from analytics.models import EndUser

CSV_COLUMNS = (
    "telegram_id",
    "username",
    "first_name",
    "last_name",
    "language_code",
    "is_premium",
    "is_bot",
    "blocked",
    "campaign",
    "first_seen",
    "last_seen",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    # Names are typed by strangers: keep a spreadsheet from running one as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value.isoformat() if hasattr(value, "isoformat") else value


def end_users_csv_rows(users: QuerySet[EndUser]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in users.values_list(*CSV_COLUMNS).iterator(chunk_size=2000):
        yield writer.writerow([_cell(value) for value in row])


def end_users_csv_response(*, users: QuerySet[EndUser], bot_uuid: object) -> StreamingHttpResponse:
    """Streamed, so a bot with a million users never sits in memory."""
    response = StreamingHttpResponse(end_users_csv_rows(users), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bot-{bot_uuid}-users.csv"'
    return response
