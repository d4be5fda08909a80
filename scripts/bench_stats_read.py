"""Benchmark the dashboard's statistics read against a large hourly table (PostgreSQL).

Inserts hourly and daily rows for many bots, period after period as the drain writes them
(so one bot's rows lie scattered over the table, the slow case), then times
analytics.selectors.bot_stats for 24h, 7d and 30d and shows the query plan.

    DATABASE_URL=postgres://... python scripts/bench_stats_read.py --bots 10000 --days 35

It creates a tenant named "bench-stats-read" and deletes it (and its rows) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Tenant  # noqa: E402
from analytics.selectors import bot_stats  # noqa: E402
from botpresto.bots.models import Bot  # noqa: E402

TENANT = "bench-stats-read"
ROWS = """
INSERT INTO {table}
  (bot_id, {period}, updates, attempts, failures, users, day_users, new_users, skipped, mixpanel_dropped,
   by_type, failures_by_kind, latency, commands, languages, chat_types)
SELECT b.id, h, 120, 124, 4, 40, 10, 2, 0, 0,
  '{"message": 90, "callback_query": 25, "edited_message": 3, "my_chat_member": 2}',
  '{"timeout": 3, "connect": 1}',
  '[0, 0, 0, 2, 10, 40, 50, 15, 4, 1, 1, 0, 1, 0]',
  '{"start": 12, "help": 4, "menu": 7, "buy": 2, "settings": 1}',
  '{"en": 20, "ru": 8, "es": 6, "pt-br": 4, "de": 2}',
  '{"private": 100, "supergroup": 20}'
FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 {period}') AS h
CROSS JOIN (SELECT id FROM botpresto_bot WHERE tenant_id = %s ORDER BY id) AS b
ORDER BY h, b.id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("This benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    call_command("migrate", verbosity=0)
    Tenant.objects.filter(name=TENANT).delete()
    tenant = Tenant.objects.create(name=TENANT)
    bots = Bot.objects.bulk_create(
        Bot(
            tenant=tenant,
            mode=Bot.Mode.MANUAL,
            status=Bot.Status.ACTIVE,
            proxy_secret="s",
            upstream_url="https://bench.example.com/hook",
        )
        for _ in range(args.bots)
    )
    try:
        started = time.perf_counter()
        end = time.time() - time.time() % 3600
        with connection.cursor() as cursor:
            for table, period, first in (
                ("analytics_bothourlystats", "hour", end - args.days * 86400),
                ("analytics_botdailystats", "day", end - end % 86400 - args.days * 86400),
            ):
                cursor.execute(
                    ROWS.replace("{table}", table).replace("{period}", period),
                    [
                        time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(first)),
                        time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(end)),
                        tenant.id,
                    ],
                )
                cursor.execute(f"ANALYZE {table}")
            cursor.execute(
                "SELECT (SELECT count(*) FROM analytics_bothourlystats),"
                " pg_size_pretty(pg_total_relation_size('analytics_bothourlystats'))"
            )
            rows, size = cursor.fetchone()
        figures: dict[str, object] = {
            "bots": args.bots,
            "rows": rows,
            "table_size": size,
            "fill_seconds": round(time.perf_counter() - started),
        }
        bot = bots[len(bots) // 2]
        for period in ("24h", "7d", "30d"):
            timings = []
            for _ in range(20):
                t = time.perf_counter()
                bot_stats(bot=bot, period=period)
                timings.append((time.perf_counter() - t) * 1000)
            figures[f"{period}_ms_median"] = round(statistics.median(timings), 1)
            figures[f"{period}_ms_first"] = round(timings[0], 1)
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM analytics_bothourlystats"
                " WHERE bot_id = %s AND hour >= now() - interval '7 days' ORDER BY hour",
                [bot.id],
            )
            figures["plan_7d"] = [line for (line,) in cursor.fetchall()]
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        with connection.cursor() as cursor:  # faster than the ORM's cascade for millions of rows
            for table in ("analytics_bothourlystats", "analytics_botdailystats"):
                cursor.execute(
                    f"DELETE FROM {table} WHERE bot_id IN (SELECT id FROM botpresto_bot WHERE tenant_id = %s)",
                    [tenant.id],
                )
        tenant.delete()


if __name__ == "__main__":
    main()
