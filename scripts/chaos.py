"""make chaos: faults against the production process roles, and the one invariant that matters.

Every update the sender got a 2xx for reached the owner's endpoint exactly once, in
the order of its chat; every other update is still retried until it gets through.

It starts everything on loopback, of its own: a PostgreSQL cluster and a Redis (so
they can be stopped and killed), the Telegram stand-in (which retries like
Telegram), owner endpoints that record what they take, and the Procfile's proxy,
worker and beat roles. Bots are connected through the stand-in as owners connect
them. Then, for each scenario, updates flow while a fault is injected and healed;
when every queue has drained, the invariant is checked bot by bot from the
stand-in's delivery log and the endpoints' records.

    make chaos                              # every scenario
    make chaos CHAOS_ARGS="--short"         # CI: fewer updates, shorter faults
    make chaos CHAOS_ARGS="--scenario reload,postgres-stopped"

Needs root for the private PostgreSQL cluster (initdb runs as the postgres user);
without it the scenarios that stop PostgreSQL are skipped and said so.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout:g} s")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


# --- the services of its own ----------------------------------------------------------------------
class Postgres:
    def __init__(self, root: Path) -> None:
        self.dir, self.port = root / "pg", free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/chaos"

    def _as_postgres(self, *args: str) -> None:
        assert PG_BIN is not None
        command = ["runuser", "-u", "postgres", "--", str(PG_BIN / args[0]), *args[1:]]
        subprocess.run(command, check=True, capture_output=True, cwd="/tmp")

    def start(self) -> None:
        if not self.dir.exists():
            self.dir.mkdir(parents=True)
            shutil.chown(self.dir, "postgres", "postgres")
            self._as_postgres("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c max_connections=300"
        self._as_postgres("pg_ctl", "-D", str(self.dir), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE chaos")


class Redis:
    def __init__(self, root: Path) -> None:
        self.port, self.root = free_port(), root
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


class Role:
    """One Procfile role, started as production starts it."""

    def __init__(self, name: str, env: dict[str, str], root: Path, extra: tuple[str, ...] = ()) -> None:
        from botpresto.devtools.procfile import role_command

        self.name, self.env = name, env
        self.command = [*role_command(name, env), *extra]
        self.log = (root / f"{name}.log").open("ab")
        self.processes: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        self.restarts = 0

    def start(self) -> subprocess.Popen[bytes]:
        with self.lock:
            process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=self.log, stderr=self.log)
            self.processes.append(process)
            return process

    def supervise(self) -> None:
        """Start again a process that exited by itself, as production's process manager does."""
        with self.lock:
            exited = [p for p in self.processes if p.poll() is not None]
            for process in exited:
                self.processes.remove(process)
                self.processes.append(
                    subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=self.log, stderr=self.log)
                )
                self.restarts += 1
                log(f"  {self.name} exited by itself ({process.returncode}): started again")

    def signal(self, sig: int) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(sig)

    def stop(self, process: subprocess.Popen[bytes] | None = None, *, kill: bool = False) -> None:
        with self.lock:
            self._stop(process, kill=kill)

    def _stop(self, process: subprocess.Popen[bytes] | None, *, kill: bool) -> None:
        for p in [process] if process else list(self.processes):
            if p.poll() is None:
                p.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            self.processes.remove(p)


# --- owners' endpoints ---------------------------------------------------------------------------
@dataclass
class Taken:
    bot: int
    update_id: int
    chat: int


@dataclass
class Endpoints:
    """One server for every bot (path /hook/<n>), recording each update it answered 2xx for."""

    port: int = field(default_factory=free_port)
    mode: str = "ok"  # ok, fail (500), hang (answers 503 after the proxy gave up), down (refuses connections)
    taken: list[Taken] = field(default_factory=list)
    fragments: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    update = json.loads(body)
                    bot = int(self.path.rsplit("/", 1)[1])
                    record = Taken(bot, update["update_id"], update["message"]["chat"]["id"])
                except (ValueError, KeyError, IndexError):
                    with endpoints.lock:
                        endpoints.fragments += 1
                    record = None
                mode = endpoints.mode
                if mode == "hang":
                    time.sleep(3)  # past the proxy's read timeout: the proxy answered Telegram 504 meanwhile
                status = 200 if mode == "ok" and record is not None else (500 if mode == "fail" else 503)
                if status == 200:
                    with endpoints.lock:
                        endpoints.taken.append(record)  # type: ignore[arg-type]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def up(self) -> None:
        if self.server is None:
            self.start()


# --- the harness ---------------------------------------------------------------------------------
@dataclass
class Result:
    scenario: str
    problems: list[str]
    figures: dict[str, Any]


class Harness:
    def __init__(self, root: Path, bots: int, rate: float) -> None:
        self.root, self.bot_count, self.rate = root, bots, rate
        self.pg = Postgres(root) if PG_BIN is not None and os.geteuid() == 0 else None
        self.redis = Redis(root)
        self.endpoints = Endpoints()
        self.pushed: dict[int, list[int]] = defaultdict(list)  # bot → update ids, in push order
        self.tokens: list[str] = []
        self.bots: list[Any] = []
        self.loading = threading.Event()
        self.load_thread: threading.Thread | None = None
        self.chats = 12
        self.supervising = threading.Event()  # set: stop supervising (teardown)
        self.first_chat = 1  # a scenario about notices takes chats no earlier scenario told (the cooldown)

    # setup
    def env(self) -> dict[str, str]:
        key = "chaos:" + base64.b64encode(b"chaos-key-chaos-key-chaos-key-32").decode()
        database = self.pg.url if self.pg else f"sqlite:///{self.root / 'chaos.sqlite3'}"
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PROXY_", "CELERY"))},
            "DEBUG": "false",
            "SECRET_KEY": "chaos-" + "x" * 40,
            "ENCRYPTION_KEYS": key,
            "DATABASE_URL": database,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis.port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis.port}/1",
            "PUBLIC_URL": f"http://127.0.0.1:{self.proxy_port}",
            "PROXY_URL": f"http://127.0.0.1:{self.proxy_port}",
            "PROXY_PORT": str(self.proxy_port),
            "PROXY_WORKERS": "2",
            "PROXY_READ_TIMEOUT": "2",
            "PROXY_RETRY_AFTER": "1",
            "ALLOW_PRIVATE_UPSTREAMS": "true",
            "EMAIL_URL": f"filemail:///{self.root / 'mail'}",  # four slashes: an absolute path
            "LOG_LEVEL": "WARNING",
            "ALERT_AFTER_FAILURES": "3",
        }

    def setup(self) -> None:
        from botpresto.devtools.standin import StandIn

        self.proxy_port = free_port()
        if self.pg:
            self.pg.start()
            self.pg.create_database()
        self.redis.start()
        self.endpoints.start()
        self.standin = StandIn(retry_base_delay=0.2, retry_max_delay=2.0, read_timeout=15).start()
        env = {**self.env(), "TELEGRAM_API_URL": self.standin.url}
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.roles = {
            "proxy": Role("proxy", env, self.root, ("--host", "127.0.0.1")),
            "worker": Role("worker", env, self.root),
            "alerts": Role("alerts", env, self.root),
            "beat": Role("beat", env, self.root, ("-s", str(self.root / "celerybeat-schedule"))),
        }
        for role in self.roles.values():
            role.start()
        threading.Thread(target=self._supervise, daemon=True).start()
        wait_port(self.proxy_port)
        self._connect_bots()

    def _supervise(self) -> None:
        # Celery's roles only: a worker exits on some broker losses (kombu's Redis transport, restoring
        # unacknowledged messages on a dead connection); production restarts it, so does this.
        while not self.supervising.wait(0.5):
            for name in ("worker", "alerts", "beat"):
                self.roles[name].supervise()

    def _connect_bots(self) -> None:
        from accounts.services import tenant_create
        from accounts.signup import user_create
        from botpresto.bots.services import bot_create

        owner = user_create(email="owner@chaos.example", password="correct horse battery", email_verified=True)
        tenant = tenant_create(name="Chaos", owner=owner)
        for n in range(self.bot_count):
            state = self.standin.add_bot(
                username=f"chaos{n}_bot",
                webhook_url=f"http://127.0.0.1:{self.endpoints.port}/hook/{n}",
                max_connections=8,
            )
            self.tokens.append(state.token)
            self.bots.append(bot_create(tenant=tenant, token=state.token))
        log(f"{self.bot_count} bots connected through the proxy role on port {self.proxy_port}")

    def teardown(self) -> None:
        self.supervising.set()
        self.load_stop()
        for role in getattr(self, "roles", {}).values():
            role.stop()
        with contextlib.suppress(Exception):
            self.standin.stop()
        self.endpoints.down()
        self.redis.kill()
        if self.pg:
            with contextlib.suppress(Exception):
                self.pg.stop()

    # load
    def load_start(self, rate: float | None = None) -> None:
        rate = rate or self.rate
        self.loading.set()

        def push() -> None:
            n, interval, next_at = 0, 1.0 / rate, time.monotonic()
            while self.loading.is_set():
                bot, chat = n % self.bot_count, (n // self.bot_count) % self.chats + self.first_chat
                message = {"message_id": n, "date": int(time.time()), "text": f"u{n}"}
                message["chat"] = {"id": chat, "type": "private"}
                message["from"] = {"id": chat, "is_bot": False, "first_name": "U", "language_code": "en"}
                update_id = self.standin.push_update(self.tokens[bot], {"message": message})
                self.pushed[bot].append(update_id)
                n += 1
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

        self.load_thread = threading.Thread(target=push, daemon=True)
        self.load_thread.start()

    def load_stop(self) -> None:
        self.loading.clear()
        if self.load_thread is not None:
            self.load_thread.join()
            self.load_thread = None

    def delivered(self) -> int:
        return sum(len(state.delivered) for state in self.standin.bots())

    # the invariant
    def settle(self, timeout: float = 120.0) -> bool:
        self.load_stop()
        deadline = time.monotonic() + timeout
        for token in self.tokens:
            try:
                self.standin.wait_idle(token, timeout=max(1.0, deadline - time.monotonic()))
            except AssertionError:
                return False
        return True

    def check(self) -> list[str]:
        problems: list[str] = []
        with self.endpoints.lock:
            taken = list(self.endpoints.taken)
            fragments = self.endpoints.fragments
        if fragments:
            problems.append(f"{fragments} bodies that were not whole updates reached an endpoint")
        by_bot: dict[int, list[Taken]] = defaultdict(list)
        for record in taken:
            by_bot[record.bot].append(record)
        for n, token in enumerate(self.tokens):
            pushed = set(self.pushed[n])  # this scenario's updates only
            log_ = self.standin.delivery_log(token)
            acknowledged = {a.update_id for a in log_ if a.status and 200 <= a.status < 300} & pushed
            counts = Counter(record.update_id for record in by_bot[n])
            if missing := pushed - acknowledged:
                problems.append(f"bot {n}: {len(missing)} updates never got a 2xx (still retried)")
            if lost := {u for u in acknowledged if counts[u] == 0}:
                first = sorted(lost)[:5]
                problems.append(f"bot {n}: {len(lost)} updates answered 2xx never reached the endpoint: {first}")
            if twice := {u: c for u, c in counts.items() if c > 1}:
                problems.append(f"bot {n}: {len(twice)} updates reached the endpoint more than once")
            order: dict[int, int] = {}
            for record in by_bot[n]:
                if record.update_id <= order.get(record.chat, 0):
                    problems.append(f"bot {n}: chat {record.chat} got update {record.update_id} out of order")
                    break
                order[record.chat] = record.update_id
        return problems

    def alert_kinds(self) -> dict[int, list[str]]:
        """Each bot's endpoint emails so far, in the order sent: "failing" or "recovered"."""
        kinds: dict[int, list[str]] = defaultdict(list)
        for subject in self.emails():
            kind = "failing" if "is failing" in subject else "recovered" if "has recovered" in subject else None
            for n in range(self.bot_count):
                if kind and subject.startswith(f"@chaos{n}_bot:"):
                    kinds[n].append(kind)
        return kinds

    def alerts_settle(self, timeout: float = 60.0) -> None:
        """Wait until every owner alert is sent and no bot is still marked failing (the endpoints are up)."""
        from botpresto.bots.models import Bot
        from botpresto.notifications.models import OwnerAlert

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                unsent = OwnerAlert.objects.filter(sent_at__isnull=True).exists()
                failing = Bot.objects.filter(endpoint_failing_since__isnull=False).exists()
                if not unsent and not failing:
                    return
            time.sleep(0.5)

    def check_alerts(self) -> list[str]:
        """Outage emails are one fact per bot: they alternate, failing first, and every outage has ended."""
        from botpresto.bots.models import Bot
        from botpresto.notifications.models import OwnerAlert

        problems = []
        for n, kinds in sorted(self.alert_kinds().items()):
            if any(a == b for a, b in itertools.pairwise(kinds)) or (kinds and kinds[0] != "failing"):
                problems.append(f"bot {n}: endpoint emails out of step: {kinds}")
        if still := Bot.objects.filter(endpoint_failing_since__isnull=False).count():
            problems.append(f"{still} bots still shown failing although their endpoints work again")
        if unsent := OwnerAlert.objects.filter(sent_at__isnull=True).count():
            problems.append(f"{unsent} owner alerts never sent")
        return problems

    def reset_records(self) -> None:
        """A scenario is checked on what it pushed itself."""
        self.pushed.clear()
        with self.endpoints.lock:
            self.endpoints.taken.clear()
            self.endpoints.fragments = 0

    def emails(self) -> list[str]:
        mail = self.root / "mail"
        if not mail.exists():
            return []
        return [
            line.removeprefix("Subject: ").strip()
            # In the order written: the file names hold the second and then an object's id, so two emails
            # of one second (an outage's failing and recovered, say) would sort at random by name.
            for path in sorted(mail.iterdir(), key=lambda path: (path.stat().st_mtime_ns, path.name))
            for line in path.read_text(errors="replace").splitlines()
            if line.startswith("Subject: ")
        ]


# --- scenarios -----------------------------------------------------------------------------------
Scenario = Callable[[Harness, float], dict[str, Any]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        SCENARIOS[name] = function
        return function

    return register


def _outage(h: Harness, mode: str, seconds: float) -> dict[str, Any]:
    h.load_start()
    time.sleep(2)
    if mode == "down":
        h.endpoints.down()
    h.endpoints.mode = mode if mode != "down" else "ok"
    time.sleep(seconds)
    h.endpoints.mode = "ok"
    h.endpoints.up()
    time.sleep(2)
    return {}


@scenario("endpoint-refusing")
def endpoint_refusing(h: Harness, scale: float) -> dict[str, Any]:
    return _outage(h, "down", 8 * scale)


@scenario("endpoint-failing")
def endpoint_failing(h: Harness, scale: float) -> dict[str, Any]:
    return _outage(h, "fail", 8 * scale)


@scenario("endpoint-hanging")
def endpoint_hanging(h: Harness, scale: float) -> dict[str, Any]:
    return _outage(h, "hang", 8 * scale)


@scenario("redis-killed")
def redis_killed(h: Harness, scale: float) -> dict[str, Any]:
    h.load_start()
    time.sleep(2)
    h.redis.kill()
    time.sleep(5 * scale)
    h.redis.start()
    time.sleep(3)
    return {}


@scenario("worker-killed")
def worker_killed(h: Harness, scale: float) -> dict[str, Any]:
    h.load_start()
    time.sleep(2)
    h.roles["worker"].stop(kill=True)
    time.sleep(4 * scale)
    h.roles["worker"].start()
    time.sleep(3)
    return {}


# --- the analytics drain: at least once, never twice ------------------------------------------------
def _analytics_totals(h: Harness) -> dict[str, int]:
    """Attempts counted per bot (by index), and the pipeline's counted losses under "lost"."""
    from django.db import connections
    from django.db.models import Sum

    from analytics.models import BotHourlyStats, PipelineCounter

    connections.close_all()
    rows = BotHourlyStats.objects.values("bot_id").annotate(n=Sum("attempts"))
    by_id = {row["bot_id"]: row["n"] for row in rows}
    totals = {str(n): by_id.get(bot.id, 0) for n, bot in enumerate(h.bots)}
    lost = PipelineCounter.objects.filter(
        name__in=[
            PipelineCounter.RECORDS_LOST,
            PipelineCounter.RECORDS_FAILED,
            PipelineCounter.RECORDS_INVALID,
            PipelineCounter.RECORDS_UNKNOWN_BOT,
        ]
    ).aggregate(n=Sum("value"))["n"]
    totals["lost"] = lost or 0
    return totals


def _buffer_pending() -> int:
    """Entries a worker read and has not acknowledged yet: a batch being written."""
    from analytics import buffer

    client = buffer.redis_client()
    assert client is not None
    total = 0
    for shard in range(settings_shards()):
        with contextlib.suppress(Exception):
            total += int(client.xpending(buffer.stream_key(shard), buffer.GROUP)["pending"])
    return total


def settings_shards() -> int:
    from django.conf import settings

    return int(settings.ANALYTICS_SHARDS)


def _worker_kill(h: Harness) -> None:
    """SIGKILL the worker role and its pool processes (by their ids), as an OOM killer would."""
    role = h.roles["worker"]
    for process in list(role.processes):
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        role.stop(process, kill=True)


def _analytics_check(h: Harness, before: dict[str, int], figures: dict[str, Any] | None = None) -> list[str]:
    """After recovery, each bot's attempts counted == the attempts the proxy answered, less counted losses."""
    from analytics import buffer

    deadline = time.monotonic() + 60
    while buffer.buffer_length() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # the last batch's commit, and the proxy's last records
    while buffer.buffer_length() and time.monotonic() < deadline:
        time.sleep(0.5)
    after = _analytics_totals(h)
    answered_total, counted_total, problems = 0, 0, []
    for n, token in enumerate(h.tokens):
        pushed = set(h.pushed[n])
        answered = sum(1 for a in h.standin.delivery_log(token) if a.status is not None and a.update_id in pushed)
        counted = after[str(n)] - before[str(n)]
        answered_total += answered
        counted_total += counted
        if counted > answered:
            problems.append(f"bot {n}: {counted} attempts counted, the proxy answered {answered}: counted twice")
    lost = after["lost"] - before["lost"]
    if figures is not None:
        figures.update(answered=answered_total, analytics_counted=counted_total, counted_lost=lost)
    if counted_total != answered_total - lost:
        problems.append(
            f"analytics counted {counted_total} attempts, the proxy answered {answered_total}, {lost} counted as lost"
        )
    if buffer.buffer_length():
        problems.append(f"{buffer.buffer_length()} records still in the buffer a minute after recovery")
    return problems


@scenario("worker_killed_mid_drain")
def worker_killed_mid_drain(h: Harness, scale: float) -> dict[str, Any]:
    """The worker SIGKILLed while a batch is read and not yet acknowledged, several times: its batch is
    taken over once the stream's lease runs out, and counted once."""
    _analytics_check(h, _analytics_totals(h))  # the previous scenario's records first
    before = _analytics_totals(h)
    h.load_start()
    time.sleep(2)
    kills, rounds = 0, max(2, round(5 * scale))
    for _ in range(rounds):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _buffer_pending():
            time.sleep(0.002)
        kills += bool(_buffer_pending())
        _worker_kill(h)
        time.sleep(2)  # a backlog gathers meanwhile, so the next drains have batches worth killing
        h.roles["worker"].start()
    time.sleep(2)
    figures: dict[str, Any] = {"kills_mid_drain": kills}
    figures["after_settle"] = lambda: _analytics_check(h, before, figures)
    return figures


@scenario("postgres-stopped")
def postgres_stopped(h: Harness, scale: float) -> dict[str, Any]:
    if h.pg is None:
        return {"skipped": "needs root and PostgreSQL's binaries for a cluster of its own"}
    h.load_start()
    time.sleep(2)
    since = time.time()
    h.pg.stop()
    time.sleep(10 * scale)
    h.roles["proxy"].signal(signal.SIGHUP)  # a reload while the database is away: routes cannot load yet
    time.sleep(10 * scale)
    h.pg.start()
    time.sleep(5)
    attempts = [a for token in h.tokens for a in h.standin.delivery_log(token) if a.time >= since]
    figures: dict[str, Any] = {"answers_503": sum(1 for a in attempts if a.status == 503)}
    if unknown := sum(1 for a in attempts if a.status == 404):
        figures["problem"] = f"{unknown} updates of known bots were answered 404 (no Retry-After: slow to clear)"
    return figures


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the database may be coming back
            if condition():
                return True
        time.sleep(0.5)
    return False


def _outage_emails(h: Harness, before: dict[int, list[str]]) -> dict[str, Any]:
    """Exactly one failing and one recovered email per bot for the one outage of the scenario."""
    h.alerts_settle()
    after = h.alert_kinds()
    new = {n: after.get(n, [])[len(before.get(n, [])) :] for n in range(h.bot_count)}
    figures: dict[str, Any] = {"emails_per_bot": sorted({len(kinds) for kinds in new.values()})}
    if wrong := {n: kinds for n, kinds in new.items() if kinds != ["failing", "recovered"]}:
        figures["problem"] = f"not one failing and one recovered email per outage: {wrong}"
    return figures


@scenario("redis_restarted_mid_outage")
def redis_restarted_mid_outage(h: Harness, scale: float) -> dict[str, Any]:
    before = h.alert_kinds()
    h.load_start()
    time.sleep(2)
    h.endpoints.mode = "fail"
    told = _wait(lambda: all(len(h.alert_kinds().get(n, [])) > len(before.get(n, [])) for n in range(h.bot_count)), 30)
    h.redis.kill()  # every counter, the broker's queues and the cache go with it
    time.sleep(3 * scale)
    h.redis.start()
    time.sleep(6 * scale)  # still failing: the counters start again from nothing
    h.endpoints.mode = "ok"
    time.sleep(8)  # updates keep coming, past the 5 s a proxy process skips side work after a Redis error
    h.settle()
    figures = _outage_emails(h, before)
    if not told:
        figures["problem"] = "the failing emails did not all go out within 30 s of the outage"
    return figures


@scenario("postgres_stopped_while_notices_due")
def postgres_stopped_while_notices_due(h: Harness, scale: float) -> dict[str, Any]:
    if h.pg is None:
        return {"skipped": "needs root and PostgreSQL's binaries for a cluster of its own"}
    before = h.alert_kinds()
    since = time.time()
    h.first_chat = 1000 + int(since) % 1000 * 100  # chats not told before, so each is due a notice
    h.load_start()
    time.sleep(2)
    h.endpoints.mode = "fail"  # every chat's next update fails: a notice is due for each
    time.sleep(0.5)
    h.pg.stop()
    time.sleep(5 * scale)
    h.pg.start()
    time.sleep(8 * scale)  # notices retried and sent while the endpoint still fails
    h.endpoints.mode = "ok"
    back = time.time()
    time.sleep(2)
    h.settle()
    figures = _outage_emails(h, before)
    problems = [figures.pop("problem")] if "problem" in figures else []
    sent = late = 0
    for n, token in enumerate(h.tokens):
        delivered_again = min(
            (a.time for a in h.standin.delivery_log(token) if a.time >= back and a.status and 200 <= a.status < 300),
            default=float("inf"),
        )
        notices = [c for c in h.standin.calls(token, "sendMessage", source="api") if c.time >= since]
        chats = Counter(int(c.params["chat_id"]) for c in notices if c.error_code is None)
        sent += sum(chats.values())
        late += sum(1 for c in notices if c.time > delivered_again + 1.0)
        if twice := [chat for chat, count in chats.items() if count > 1]:
            problems.append(f"bot {n}: chats told more than once: {twice}")
    dropped = sum(
        (h.root / name).read_text(errors="replace").count("raised unexpected: OperationalError")
        for name in ("worker.log", "alerts.log")
        if (h.root / name).exists()
    )
    h.first_chat = 1
    figures.update(notices_sent=sent, notices_after_recovery=late, tasks_dropped=dropped)
    if late:
        problems.append(f"{late} notices went out more than 1 s after the bot delivered again")
    if dropped:
        problems.append(f"{dropped} tasks gave up on OperationalError")
    if not sent:
        problems.append("no notice went out although the endpoint failed for seconds after the database came back")
    if problems:
        figures["problem"] = "; ".join(problems)
    return figures


def _pause_figures(h: Harness, since: float) -> dict[str, Any]:
    """Non-2xx answers and the longest gap between two deliveries since ``since`` (all bots together)."""
    attempts = [a for token in h.tokens for a in h.standin.delivery_log(token) if a.time >= since]
    delivered = sorted(a.time for a in attempts if a.status and 200 <= a.status < 300)
    gaps = [b - a for a, b in itertools.pairwise(delivered)]
    return {
        "non_2xx_answers": sum(1 for a in attempts if not (a.status and 200 <= a.status < 300)),
        "longest_gap_ms": round(max(gaps, default=0) * 1000),
        "load_interval_ms": round(1000 / h.rate),
    }


@scenario("reload")
def reload_under_load(h: Harness, scale: float) -> dict[str, Any]:
    h.load_start()
    time.sleep(2)
    since = time.time()
    for _ in range(2):
        h.roles["proxy"].signal(signal.SIGHUP)
        time.sleep(6)
    return _pause_figures(h, since)


@scenario("rolling-restart")
def rolling_restart(h: Harness, scale: float) -> dict[str, Any]:
    h.load_start()
    time.sleep(2)
    role = h.roles["proxy"]
    old = role.processes[0]
    since = time.time()
    role.start()  # the new release binds the same port beside the old one
    time.sleep(4)
    role.stop(old)  # the old one finishes what it has in flight and goes
    time.sleep(3)
    return _pause_figures(h, since)


@scenario("reconnect-cycles")
def reconnect_cycles(h: Harness, scale: float) -> dict[str, Any]:
    from botpresto.bots.models import Bot
    from botpresto.bots.services import bot_disconnect, bot_reconnect

    h.load_start()
    cycles = max(3, int(30 * scale))
    for n in range(cycles):
        bot = Bot.objects.get(id=h.bots[n % len(h.bots)].id)
        bot_disconnect(bot=bot)
        time.sleep(0.2)
        bot_reconnect(bot=Bot.objects.get(id=bot.id))
        time.sleep(0.2)
    time.sleep(2)
    return {"cycles": cycles}


@scenario("maintenance")
def maintenance(h: Harness, scale: float) -> dict[str, Any]:
    from django.utils import timezone

    from botpresto.bots.maintenance import maintenance_end, maintenance_start
    from botpresto.bots.models import Bot, MaintenanceWindow

    h.load_start()
    now = timezone.now()
    window = MaintenanceWindow.objects.create(starts_at=now, ends_at=now + timezone.timedelta(hours=1), reason="x")
    maintenance_start(window=window)  # the worker switches the bots
    deadline = time.monotonic() + 60
    while Bot.objects.filter(status=Bot.Status.BYPASSED).count() < len(h.bots):
        assert time.monotonic() < deadline, "the bypass did not finish"
        time.sleep(0.5)
    time.sleep(3 * scale)
    maintenance_end(window=MaintenanceWindow.objects.get(id=window.id))
    while Bot.objects.filter(status=Bot.Status.ACTIVE).count() < len(h.bots):
        assert time.monotonic() < deadline + 60, "the reconnect did not finish"
        time.sleep(0.5)
    time.sleep(2)
    return {}


def _slow_clients(port: int, count: int, body: bool, stop: threading.Event) -> None:
    sockets = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            head = b"POST /proxy/bot/slow HTTP/1.1\r\nHost: x\r\n"
            sock.sendall(head + (b"Content-Length: 900\r\n\r\n{" if body else b""))
            sockets.append(sock)
    while not stop.wait(1.0):  # a byte now and then keeps them alive
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.sendall(b" " if body else b"X-Slow: 1\r\n")
    for sock in sockets:
        sock.close()


@scenario("slow-clients")
def slow_clients(h: Harness, scale: float) -> dict[str, Any]:
    h.load_start()
    time.sleep(2)
    window = 6 * max(scale, 0.5)
    before = h.delivered()
    time.sleep(window)
    alone = (h.delivered() - before) / window
    stop = threading.Event()
    flood = [threading.Thread(target=_slow_clients, args=(h.proxy_port, 400, body, stop)) for body in (False, True)]
    for thread in flood:
        thread.start()
    time.sleep(2)
    before = h.delivered()
    time.sleep(window)
    during = (h.delivered() - before) / window
    stop.set()
    for thread in flood:
        thread.join()
    figures = {"updates_per_second_alone": round(alone, 1), "during_800_slow_clients": round(during, 1)}
    figures["kept"] = f"{during / alone:.0%}" if alone else "n/a"
    if alone and during < 0.9 * alone:
        figures["problem"] = f"real traffic kept only {during / alone:.0%} of its rate"
    return figures


@scenario("truncated-bodies")
def truncated_bodies(h: Harness, scale: float) -> dict[str, Any]:
    from botpresto.bots.models import Bot

    h.load_start()
    bot = Bot.objects.get(id=h.bots[0].id)
    body = json.dumps({"update_id": 10**9, "message": {"chat": {"id": 1}, "text": "x" * 200}}).encode()
    head = (
        f"POST /proxy/bot/{bot.uuid} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {bot.proxy_secret}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sent = int(50 * max(scale, 0.4))
    for _ in range(sent):
        with socket.create_connection(("127.0.0.1", h.proxy_port)) as sock:
            sock.sendall(head + body[: random.randint(1, len(body) - 1)])
    time.sleep(2)
    return {"truncated_sent": sent}


def run(names: list[str], bots: int, rate: float, scale: float) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        root = Path(tmp)
        if os.geteuid() == 0:
            os.chmod(root, 0o755)  # the postgres user reaches its cluster's folder
        harness = Harness(root, bots, rate)
        try:
            harness.setup()
            from django.db import connections

            for name in names:
                connections.close_all()  # a connection of this process may have died with a stopped database
                harness.reset_records()
                log(f"scenario {name}")
                figures = SCENARIOS[name](harness, scale)
                after_settle = figures.pop("after_settle", None)
                settled = harness.settle()
                harness.alerts_settle()
                problems = harness.check() + harness.check_alerts() if "skipped" not in figures else []
                if after_settle is not None:
                    problems.extend(after_settle())
                if not settled:
                    problems.append("the queues did not drain within 120 s after the fault was healed")
                if "problem" in figures:
                    problems.append(figures.pop("problem"))
                figures["updates"] = sum(len(ids) for ids in harness.pushed.values())
                restarts = {name: role.restarts for name, role in harness.roles.items() if role.restarts}
                if restarts:
                    figures["celery_roles_restarted"] = restarts  # so far in the run

                results.append(Result(name, problems, figures))
                log(f"  {'ok' if not problems else 'FAILED'} {json.dumps(figures)}")
                for problem in problems:
                    log(f"  - {problem}")
        finally:
            harness.teardown()
            if any(r.problems for r in results):
                for name in ("proxy.log", "worker.log", "alerts.log"):
                    path = root / name
                    if path.exists():
                        print(f"--- last lines of {name}", file=sys.stderr)
                        print("\n".join(path.read_text(errors="replace").splitlines()[-30:]), file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="", help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--short", action="store_true", help="fewer updates and shorter faults (CI)")
    parser.add_argument("--bots", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0, help="updates per second (default 60, short 30)")
    args = parser.parse_args()
    names = [n for n in args.scenario.split(",") if n] or list(SCENARIOS)
    if unknown := set(names) - set(SCENARIOS):
        raise SystemExit(f"no such scenario: {', '.join(sorted(unknown))}")
    scale = 0.4 if args.short else 1.0
    results = run(names, args.bots, args.rate or (30 if args.short else 60), scale)
    print("\n| scenario | updates | result | figures |\n|---|---|---|---|")
    for r in results:
        figures = {k: v for k, v in r.figures.items() if k != "updates"}
        outcome = "FAILED" if r.problems else "ok"
        print(f"| {r.scenario} | {r.figures.get('updates', 0)} | {outcome} | {figures or ''} |")
    if any(r.problems for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
