"""Measure the throughput of a maintenance bypass and reconnect against the Telegram stand-in.

    DEBUG=true .venv/bin/python scripts/bench_maintenance.py [--bots 100] [--rate 10] [--workers 2]

Runs in a throwaway SQLite database (or DATABASE_URL if set) with the default
database cache (or REDIS_URL). Both jobs run exactly as the Celery tasks do;
``--workers`` threads share the one rate limit, as worker processes would.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
_scratch = tempfile.mkdtemp(prefix="bench-maintenance-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_scratch}/bench.sqlite3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=100)
    parser.add_argument("--rate", type=float, default=None, help="calls per second (default: the setting)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Tenant
    from botpresto.bots.maintenance import maintenance_end, maintenance_run, maintenance_start
    from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow
    from botpresto.bots.services import proxy_secret_generate
    from botpresto.devtools.standin import StandIn

    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0)
    if args.rate:
        settings.MAINTENANCE_CALLS_PER_SECOND = args.rate
    standin = StandIn().start()
    settings.TELEGRAM_API_URL = standin.url
    settings.ALLOW_PRIVATE_UPSTREAMS = True

    tenant = Tenant.objects.create(name="bench")
    first = 9_100_000_000 + Bot.objects.count()
    for n in range(first, first + args.bots):
        bot = Bot.objects.create(
            tenant=tenant,
            mode=Bot.Mode.TOKEN,
            status=Bot.Status.ACTIVE,
            telegram_id=n,
            username=f"bench{n}",
            token=f"{n}:AAbenchbenchbenchbenchbenchbenchbench",
            proxy_secret=proxy_secret_generate(),
            upstream_url=f"https://owner{n}.example.com/hook",
            original_url=f"https://owner{n}.example.com/hook",
            original_max_connections=40,
        )
        standin.add_bot(str(bot.token), username=bot.username, webhook_url=bot.proxy_url, max_connections=40)

    def timed(direction: str, window: MaintenanceWindow) -> float:
        def work() -> None:
            maintenance_run(window=window, direction=direction)
            connection.close()

        started = time.monotonic()
        threads = [threading.Thread(target=work) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    now = timezone.now()
    window = MaintenanceWindow.objects.create(starts_at=now, ends_at=now + timedelta(hours=1), reason="benchmark")
    maintenance_start(window=window)
    bypass = timed(MaintenanceSwitch.Direction.BYPASS, window)
    window = maintenance_end(window=window)
    reconnect = timed(MaintenanceSwitch.Direction.RECONNECT, window)
    standin.stop()

    done = MaintenanceSwitch.objects.filter(window=window, state=MaintenanceSwitch.State.DONE).count()
    rate = settings.MAINTENANCE_CALLS_PER_SECOND
    print(f"{args.bots} bots, {rate:g} calls/s, {args.workers} workers, {settings.DATABASES['default']['ENGINE']}")
    print(f"bypass:    {bypass:6.1f} s  {args.bots / bypass:6.2f} bots/s  (2 calls a bot)")
    print(f"reconnect: {reconnect:6.1f} s  {args.bots / reconnect:6.2f} bots/s  (3 calls a bot)")
    print(f"switches done: {done} of {2 * args.bots}")


if __name__ == "__main__":
    main()
