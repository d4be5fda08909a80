"""Benchmark the analytics drain: one worker process, then two, on the same pre-filled buffer.

Fills the buffer with realistic records (as the proxy pushes them) for many
bots and users, then times worker processes (forked from this one, running
the production drain) turning them into end users, statistics and Mixpanel's
outbox: once with one process, once with two, from the same records and the
same empty tables, and prints records/s side by side with the ratio.
Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): parallel drains share
out the Redis streams. With --rate it also pushes at that rate from another
process while one process drains, and reports whether the backlog grows.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../12 python scripts/bench_drain.py --records 100000

It creates a tenant named "bench-drain" with its bots and deletes it at the end.
Use a scratch database and Redis database: the buffer is emptied first.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Sum  # noqa: E402

from accounts.models import Tenant  # noqa: E402
from analytics import buffer, services  # noqa: E402
from analytics.extract import update_metadata  # noqa: E402
from analytics.models import BotHourlyStats, BufferedRecord, EndUser, MixpanelPending  # noqa: E402
from botpresto.bots.models import Bot  # noqa: E402
from botpresto.bots.services import proxy_secret_generate  # noqa: E402

TENANT = "bench-drain"
LANGUAGES = ["en", "ru", "es", "pt-br", "de", "fa", "uk", "id", "tr", "it", "ar", "fr"]
COMMANDS = ["start", "help", "menu", "settings", "buy", "cancel", "lang", "profile", "top", "stop"]
NAMES = ["Ann", "Bo", "Chen", "Dmitri", "Eva", "Farid", "Gül", "Hana", "Ivan", "Jo", "Kai", "Lena"]
FAILURES = [("timeout", 504, None), ("connect", 502, None), ("http_status", 502, 500)]


def bots_create(count: int, with_mixpanel: float) -> list[Bot]:
    Tenant.objects.filter(name=TENANT).delete()
    tenant = Tenant.objects.create(name=TENANT)
    secret = proxy_secret_generate()
    base = 8_000_000_000 + random.randrange(10**8)
    bots = [
        Bot(
            tenant=tenant,
            mode=Bot.Mode.TOKEN,
            status=Bot.Status.ACTIVE,
            telegram_id=base + i,
            username=f"bench{i}_bot",
            token=f"{base + i}:AAbenchbenchbenchbenchbenchbench",
            proxy_secret=secret,
            upstream_url="https://bench.example.com/hook",
            mixpanel_token=f"mp-token-{i:05d}" if i < count * with_mixpanel else None,
        )
        for i in range(count)
    ]
    return Bot.objects.bulk_create(bots, batch_size=500)


class Traffic:
    """Updates as Telegram sends them: a few busy bots, many quiet ones; private chats mostly."""

    def __init__(self, bots: list[Bot], users: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.bots = bots
        weights = [1 / (rank + 1) ** 0.8 for rank in range(len(bots))]
        self.weights = weights
        share = sum(weights)
        self.pools = [max(5, int(users * w / share)) for w in weights]
        self.update_id = self.rng.randrange(10**9)
        self.now = time.time()

    def user(self, bot_index: int) -> dict[str, Any]:
        n = int(self.rng.paretovariate(1.2)) % self.pools[bot_index]
        uid = 10_000_000 + bot_index * 1_000_003 + n
        r = random.Random(uid)
        user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": r.choice(NAMES)}
        if r.random() < 0.6:
            user["last_name"] = r.choice(NAMES) + "son"
        if r.random() < 0.7:
            user["username"] = f"user{uid}"
        user["language_code"] = r.choice(LANGUAGES)
        if r.random() < 0.1:
            user["is_premium"] = True
        if self.rng.random() < 0.01:
            user["username"] = f"renamed{self.rng.randrange(1000)}"
        return user

    def update(self, bot_index: int) -> dict[str, Any]:
        self.update_id += 1
        user = self.user(bot_index)
        private = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        group = {"id": -100_000_000_000 - bot_index, "type": "supergroup", "title": "group"}
        chat = private if self.rng.random() < 0.85 else group
        date = int(self.now) - self.rng.randrange(5)
        roll = self.rng.random()
        message: dict[str, Any] = {"message_id": self.update_id, "date": date, "chat": chat, "from": user}
        if roll < 0.55:
            command = self.rng.random() < 0.2
            message["text"] = f"/{self.rng.choice(COMMANDS)} x" if command else "some words a user typed"
            body = {"message": message}
        elif roll < 0.60:
            body = {"message": {**message, "photo": [{"file_id": "AgAC", "width": 1, "height": 1}], "caption": "c"}}
        elif roll < 0.75:
            body = {"callback_query": {"id": str(self.update_id), "from": user, "data": "x", "message": message}}
        elif roll < 0.78:
            body = {"edited_message": {**message, "edit_date": date, "text": "edited"}}
        elif roll < 0.83:
            body = {"inline_query": {"id": "q", "from": user, "query": "q", "offset": "", "chat_type": "sender"}}
        elif roll < 0.85:
            status = "kicked" if self.rng.random() < 0.7 else "member"
            member = {"status": status, "user": {"id": 1, "is_bot": True, "first_name": "b"}}
            body = {"my_chat_member": {"chat": private, "from": user, "date": date, "new_chat_member": member}}
        elif roll < 0.87:
            body = {"channel_post": {"message_id": 1, "date": date, "chat": {"id": -1, "type": "channel"}, "text": "p"}}
        elif roll < 0.90:
            reaction = {"chat": chat, "message_id": 1, "user": user, "date": date, "new_reaction": []}
            body = {"message_reaction": reaction}
        elif roll < 0.92:
            body = {"poll_answer": {"poll_id": "p", "user": user, "option_ids": [0]}}
        elif roll < 0.94:
            body = {"chat_member": {"chat": group, "from": user, "date": date, "new_chat_member": {"status": "member"}}}
        else:
            body = {"message": {**message, "sticker": {"file_id": "s"}}}
        return {"update_id": self.update_id, **body}

    def records(self, count: int) -> list[str]:
        """JSON records in arrival order; 3 % fail first and are retried a little later."""
        out: list[str] = []
        retries: list[tuple[int, dict[str, Any]]] = []
        while len(out) < count:
            index = self.rng.choices(range(len(self.bots)), self.weights)[0]
            bot = self.bots[index]
            now = time.time()
            if retries and retries[0][0] <= len(out):
                _, record = retries.pop(0)
                record = {**record, "received_at": now, "outcome": _outcome(self.rng)}
            elif self.rng.random() < 0.002:
                record = _record(bot, None, now, _outcome(self.rng))
            else:
                update = self.update(index)
                meta = update_metadata(update, bot_id=bot.telegram_id, bot_username=bot.username)
                if self.rng.random() < 0.03:
                    kind, status, upstream = self.rng.choice(FAILURES)
                    outcome = {"status": status, "upstream_status": upstream, "latency_ms": 10000.0, "error": kind}
                    record = _record(bot, meta, now, outcome)
                    retries.append((len(out) + 500, record))
                else:
                    record = _record(bot, meta, now, _outcome(self.rng))
            out.append(json.dumps(record, separators=(",", ":")))
        return out


def _outcome(rng: random.Random) -> dict[str, Any]:
    return {"status": 200, "upstream_status": 200, "latency_ms": round(rng.lognormvariate(3.7, 0.6), 2), "error": None}


def _record(bot: Bot, meta: dict[str, Any] | None, now: float, outcome: dict[str, Any]) -> dict[str, Any]:
    return {"bot": str(bot.uuid), "received_at": now, "outcome": outcome, "update": meta, "malformed": meta is None}


def buffer_fill(payloads: list[str]) -> None:
    client = buffer.redis_client()
    if client is None:
        BufferedRecord.objects.bulk_create([BufferedRecord(payload=p) for p in payloads], batch_size=2000)
        return
    for start in range(0, len(payloads), 1000):  # as the proxy's recorder pushes: one pipeline per batch
        assert buffer.records_push([json.loads(p) for p in payloads[start : start + 1000]])


def collector_start() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "botpresto.devtools.collector", "--port", "0", "--count-only"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
    return process, url


def collector_summary(url: str) -> dict[str, int]:
    import requests

    summary: dict[str, int] = requests.get(f"{url}/summary", timeout=5).json()
    return summary


def _pusher(payloads: list[str], rate: float) -> None:
    """Push at a steady rate with the proxy's own call, one record at a time."""
    buffer._client = None
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        buffer.record_push(json.loads(payload))


def steady(traffic: Traffic, rate: float, seconds: float) -> dict[str, Any]:
    """Push at ``rate`` from another process while this one drains; sample the backlog."""
    payloads = traffic.records(int(rate * seconds))
    connections.close_all()
    pusher = multiprocessing.get_context("fork").Process(target=_pusher, args=(payloads, rate))
    started = time.perf_counter()
    pusher.start()
    samples: list[tuple[float, int]] = []
    pushed_at: float | None = None
    while pusher.is_alive() or buffer.buffer_length():
        services.records_drain(seconds=1)
        services.mixpanel_send(seconds=1)
        now = time.perf_counter() - started
        samples.append((round(now, 1), buffer.buffer_length()))
        if pushed_at is None and not pusher.is_alive():
            pushed_at = now
        time.sleep(0.05)
    pusher.join()
    ended = time.perf_counter() - started
    pushed_at = pushed_at or ended
    during = [backlog for t, backlog in samples if t <= pushed_at]
    return {
        "rate_asked": rate,
        "rate_pushed": round(len(payloads) / pushed_at),
        "push_seconds": round(pushed_at, 1),
        "backlog_max": max(during, default=0),
        "backlog_when_push_ended": during[-1] if during else 0,
        "empty_after_push_seconds": round(ended - pushed_at, 1),
        "backlog_samples": samples[:: max(1, len(samples) // 12)],
    }


def _worker(ready: Any, go: Any, done: Any) -> None:
    """One drain worker process: drains until the buffer is empty, as a Celery worker's task would."""
    buffer._client = None
    ready.set()
    go.wait()
    taken = 0
    while True:
        n = services.records_drain(seconds=5)
        taken += n
        if not n:
            if not buffer.buffer_length():
                break
            time.sleep(0.01)  # the other process holds the streams left
    done.put((taken, _backend_cpu()))
    connections.close_all()


def _backend_cpu() -> float | None:
    """CPU seconds of this process's PostgreSQL backend, when it runs on this machine (readable /proc)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def tables_reset() -> None:
    """Forget what a run wrote, so the next starts from the same empty tables."""
    from analytics.models import BotDailyStats, CohortDay, DrainedRecord

    bots = Bot.objects.filter(tenant__name=TENANT)
    for model in (EndUser, BotHourlyStats, BotDailyStats, CohortDay, MixpanelPending):
        model.objects.filter(bot__in=bots).delete()
    DrainedRecord.objects.all().delete()
    cache.clear()  # what retry detection remembers
    buffer.buffer_clear()


def workers_run(payloads: list[str], workers: int) -> dict[str, Any]:
    tables_reset()
    buffer_fill(payloads)
    assert buffer.buffer_length() == len(payloads)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    ready = [context.Event() for _ in range(workers)]
    go, done = context.Event(), context.Queue()
    processes = [context.Process(target=_worker, args=(r, go, done)) for r in ready]
    for process in processes:
        process.start()
    for r in ready:
        r.wait()
    cpu_before = os.times()
    started = time.perf_counter()
    go.set()
    results = [done.get() for _ in processes]
    taken = [n for n, _ in results]
    backend_cpu = [cpu for _, cpu in results]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    cpu_after = os.times()
    counted = BotHourlyStats.objects.filter(bot__tenant__name=TENANT).aggregate(n=Sum("attempts"))["n"] or 0
    return {
        "workers": workers,
        "seconds": round(elapsed, 2),
        "records_per_second": round(len(payloads) / elapsed),
        "taken_per_worker": taken,
        "workers_cpu_seconds": round(
            cpu_after.children_user + cpu_after.children_system - cpu_before.children_user - cpu_before.children_system,
            2,
        ),
        "postgres_cpu_seconds": round(sum(backend_cpu), 2) if None not in backend_cpu else None,
        "attempts_counted": counted,
        "end_users": EndUser.objects.filter(bot__tenant__name=TENANT).count(),
        "backlog": buffer.buffer_length(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--bots", type=int, default=300)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--mixpanel-share", type=float, default=0.5, help="share of bots with a Mixpanel token")
    parser.add_argument("--workers", default="1,2", help="worker processes of each run, compared to the first")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole comparison this many times, alternating")
    parser.add_argument("--rate", type=float, default=0, help="also push at this rate (records/s) while draining")
    parser.add_argument("--seconds", type=float, default=20, help="how long to push at --rate")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise SystemExit(
            "bench-drain needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and REDIS_URL=redis://... "
            "(scratch databases: the buffer is emptied)"
        )
    call_command("migrate", verbosity=0)
    try:
        bots = bots_create(args.bots, args.mixpanel_share)
        traffic = Traffic(bots, args.users, seed=42)
        payloads = traffic.records(args.records)
        counts = [int(n) for n in args.workers.split(",")]
        runs = [workers_run(payloads, n) for _ in range(args.repeat) for n in counts]
        # Each run compared to the first of its round: neighbours' load moves both alike.
        for i, run in enumerate(runs):
            base = runs[i - i % len(counts)]["records_per_second"]
            run["ratio"] = round(run["records_per_second"] / base, 2)
        ratios = {n: sorted(run["ratio"] for run in runs if run["workers"] == n) for n in counts}
        figures: dict[str, Any] = {
            "records": args.records,
            "bots": args.bots,
            "batch_size": settings.ANALYTICS_BATCH_SIZE,
            "streams": settings.ANALYTICS_SHARDS,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "runs": runs,
            "median_ratio": {str(n): r[len(r) // 2] for n, r in ratios.items()},
        }
        print(f"{'workers':>8} {'seconds':>8} {'records/s':>10} {'ratio':>6} {'cpu s':>6} {'pg cpu s':>9}")
        for run in runs:
            print(
                f"{run['workers']:>8} {run['seconds']:>8} {run['records_per_second']:>10} {run['ratio']:>6.2f}"
                f" {run['workers_cpu_seconds']:>6} {run['postgres_cpu_seconds']!s:>9}"
            )
        load = os.getloadavg()[0]
        print(f"median ratio: {figures['median_ratio']}; load average {load:.1f} on {os.cpu_count()} CPUs")
        if args.rate:
            collector, url = collector_start()
            settings.MIXPANEL_API_URL = url
            try:
                tables_reset()
                figures["steady"] = steady(traffic, args.rate, args.seconds)
            finally:
                collector.terminate()
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(figures, indent=2))
        if any(run["attempts_counted"] != args.records for run in runs):
            raise SystemExit("a run did not count every record exactly once")
    finally:
        tables_reset()
        Tenant.objects.filter(name=TENANT).delete()


if __name__ == "__main__":
    main()
