"""make bench: the proxy against a direct call and a minimal Django forwarder, on loopback.

Starts a fast local endpoint, the service under gunicorn as the Procfile does
(gunicorn.conf.py), a minimal forwarder under the same gunicorn settings, and
wrk as the load generator in its own process, then prints a table. Last, the
analytics drain under that full load: one Celery worker process (with beat)
drains the records the proxy writes into end users, statistics and a local
Mixpanel collector while wrk runs, and the buffer's length is sampled.

Needs wrk (apt-get install wrk) and, for the analytics write, a Redis
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/15; its keys are deleted after).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
UPDATE = (
    '{"update_id":%d,"message":{"message_id":%d,"from":{"id":123456789,"is_bot":false,"first_name":"Ana",'
    '"last_name":"Silva","username":"ana_s","language_code":"pt-br"},"chat":{"id":123456789,"first_name":"Ana",'
    '"last_name":"Silva","username":"ana_s","type":"private"},"date":%d,"text":"/start hello there"}}'
)


def proxy_role(port: int) -> list[str]:
    """The Procfile's proxy role, as it runs in production, on loopback."""
    sys.path.insert(0, str(ROOT))
    from botpresto.devtools.procfile import role_command

    return [*role_command("proxy", {**os.environ, "PROXY_PORT": str(port)}), "--host", "127.0.0.1"]


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
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s (see var/bench/*.log)")


def start(stack: ExitStack, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        out.close()

    stack.callback(stop)
    return process


def wrk_script(path: Path, targets: list[tuple[str, str]]) -> Path:
    """A Lua script posting a Telegram-like update to each target in turn, reporting JSON at the end."""
    lua_targets = ",\n".join(f'  {{"{p}", "{s}"}}' for p, s in targets)
    update = UPDATE.replace('"', '\\"')
    path.write_text(
        f"""
local targets = {{
{lua_targets}
}}
local n, i, id = #targets, 0, 0
request = function()
  i = i % n + 1
  id = id + 1
  local body = string.format("{update}", id, id, os.time())
  return wrk.format("POST", targets[i][1],
    {{["Content-Type"] = "application/json", ["X-Telegram-Bot-Api-Secret-Token"] = targets[i][2]}}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {{"requests":%d,"duration_us":%d,"p50":%d,"p99":%d,"non2xx":%d,"errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""
    )
    return path


def wrk(url: str, script: Path, connections: int, duration: float) -> dict[str, Any]:
    threads = 1 if connections <= 64 else 2
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "30s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the processes of a process group (a server and its workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run by throughput: steadier than one run on a machine shared with others."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[len(ordered) // 2]


def hang_client(url: str, secret: str, connections: int, duration: float) -> None:
    """Telegram towards a bot whose endpoint never answers: up to max_connections waiting, Retry-After obeyed."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    deadline = time.monotonic() + duration

    def loop(n: int) -> None:
        update_id = n * 1_000_000
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            try:
                update_id += 1
                body = (UPDATE % (update_id, update_id, time.time())).encode()
                headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
                conn.request("POST", parts.path, body, headers)
                response = conn.getresponse()
                response.read()
                wait = float(response.getheader("Retry-After") or 0)
            except OSError:
                wait = 1.0
            finally:
                conn.close()
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())))

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(connections)]
    for thread in threads:
        thread.start()
    time.sleep(duration)


def finish_cost(rounds: int = 5, updates: int = 20_000) -> None:
    """CPU µs of the after-answer work per update in this process (parse, record, metrics): the steady measure.

    Prints the best of ``rounds``; run once with metrics on and once with METRICS_ENABLED=false.
    """
    import datetime

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from proxy import after
    from proxy.recorder import recorder
    from proxy.routes import Route
    from proxy.upstream import Outcome

    route = Route(
        bot_id=1,
        uuid="00000000-0000-4000-8000-000000000001",
        status="active",
        tenant_id=1,
        upstream_url="http://127.0.0.1:9/",
        proxy_secret=b"x",
        endpoint_secret=None,
        verify=True,
        telegram_id=1,
        username="bench_bot",
        notices=False,
        failing=False,
        updated_at=datetime.datetime.now(datetime.UTC),
    )
    outcome = Outcome(status=200, upstream_status=200, latency_ms=3.2)
    after.outbox.put = lambda *args: None  # type: ignore[method-assign]  # no side-work thread here
    bodies = [(UPDATE % (n, n, 1767000000)).encode() for n in range(updates)]
    results = []
    for _ in range(rounds):
        began = time.process_time()
        for body in bodies:
            after.finish(route, body, outcome, 1767000000.0)
        results.append((time.process_time() - began) / updates * 1e6)
        recorder.reset()
    print(json.dumps({"finish_us": min(results)}))


def deliveries_cost(rounds: int = 8, records: int = 5000) -> None:
    """Worker CPU and wall µs per record of writing the delivery log, in one process: the steady measure.

    One batch of ``records`` attempts stored as the drain stores them, ``rounds`` times, in a transaction
    rolled back at the end; prints the medians (wall includes the database's own work).
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import transaction

    from accounts.models import Tenant
    from analytics.deliveries import deliveries_record
    from analytics.records import Attempt
    from botpresto.bots.models import Bot
    from botpresto.bots.services import proxy_secret_generate

    class Done(Exception):
        pass

    cpu: list[float] = []
    wall: list[float] = []
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name="bench-deliveries")
            bot = Bot.objects.create(
                tenant=tenant,
                mode=Bot.Mode.MANUAL,
                status=Bot.Status.ACTIVE,
                proxy_secret=proxy_secret_generate(),
                upstream_url="http://127.0.0.1:9/",
            )
            now = time.time()
            attempts = [
                Attempt(
                    bot=str(bot.uuid),
                    received_at=now + n / 1000,
                    status=502 if n % 33 == 0 else 200,  # 3 % failed, as bench_drain
                    upstream_status=500 if n % 33 == 0 else 200,
                    latency_ms=3.2,
                    failure="http_status" if n % 33 == 0 else None,
                    update={"update_id": n, "type": "message", "chat": {"id": 1, "type": "private"}},
                )
                for n in range(records)
            ]
            for _ in range(rounds):
                began, began_wall = time.process_time(), time.perf_counter()
                with transaction.atomic():
                    deliveries_record(attempts=attempts, bots={str(bot.uuid): bot}, live={bot.id})
                cpu.append((time.process_time() - began) / records * 1e6)
                wall.append((time.perf_counter() - began_wall) / records * 1e6)
            raise Done
    except Done:
        pass
    print(json.dumps({"cpu_us": sorted(cpu)[rounds // 2], "wall_us": sorted(wall)[rounds // 2]}))


def setup_database(env: dict[str, str], endpoint_port: int, slow_bots: int) -> dict[str, Any]:
    """Migrate the bench database and create the bots; returns their uuids and secrets."""
    code = f"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import Tenant
from botpresto.bots.models import Bot
from botpresto.bots.services import proxy_secret_generate
Bot.objects.all().delete()
tenant = Tenant.objects.create(name="bench")
def make(path, mixpanel_token=None):
    bot = Bot.objects.create(tenant=tenant, mode=Bot.Mode.MANUAL, status=Bot.Status.ACTIVE,
        proxy_secret=proxy_secret_generate(), endpoint_secret="endpoint_secret",
        upstream_url="http://127.0.0.1:{endpoint_port}" + path, notices_enabled=False,
        mixpanel_token=mixpanel_token)
    return [str(bot.uuid), str(bot.proxy_secret)]
print(json.dumps({{"fast": make("/fast", "bench-mixpanel-token"),
    "slow": [make(f"/slow/{{n}}") for n in range({slow_bots})], "hang": make("/hang")}}))
"""
    result = subprocess.run([PYTHON, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"database setup failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def drain_under_load(
    stack: ExitStack, env: dict[str, str], var: Path, proxy_url: str, script: Path, duration: float
) -> dict[str, Any]:
    """The proxy at full load with one Celery worker process draining its records; the backlog sampled."""
    import redis
    import requests

    sys.path.insert(0, str(ROOT))
    from analytics.buffer import STREAM

    streams = [STREAM.format(shard=n) for n in range(int(env.get("ANALYTICS_SHARDS", "8")))]

    collector_port = free_port()
    start(
        stack,
        [PYTHON, "-m", "botpresto.devtools.collector", "--port", str(collector_port), "--count-only"],
        env,
        var / "collector.log",
    )
    wait_port(collector_port)
    client = redis.Redis.from_url(env["REDIS_URL"])
    client.delete(*streams)

    def backlog() -> int:
        """Records pushed and not yet acknowledged (the drain deletes what it acknowledged)."""
        return sum(int(client.xlen(stream)) for stream in streams)

    worker = [PYTHON, "-m", "celery", "-A", "config", "worker", "-B", "--concurrency", "1", "--without-mingle"]
    worker += ["--without-gossip", "--loglevel=WARNING", "-s", str(var / "celerybeat-schedule")]
    worker_process = start(
        stack, worker, {**env, "MIXPANEL_API_URL": f"http://127.0.0.1:{collector_port}"}, var / "worker.log"
    )
    time.sleep(5)  # the worker and beat up, a first drain run done
    worker_cpu = cpu_seconds(worker_process.pid)
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    began = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            samples.append((round(time.monotonic() - began, 1), backlog()))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    load = wrk(proxy_url, script, 64, duration)
    loaded = time.monotonic() - began
    deadline = time.monotonic() + 60
    while backlog() and time.monotonic() < deadline:
        time.sleep(0.2)
    emptied = time.monotonic() - began
    worker_cpu = cpu_seconds(worker_process.pid) - worker_cpu  # draining what the load pushed (and beat, idle)
    time.sleep(3)  # the sender's next run
    stop.set()
    sampler.join()
    during = [n for t, n in samples if t <= loaded]
    return {
        "rps": load["rps"],
        "requests": load["requests"],
        "worker_cpu_us_per_record": round(worker_cpu / max(load["requests"], 1) * 1e6, 1),
        "backlog_max": max(during, default=0),
        "backlog_end_of_load": during[-1] if during else 0,
        "empty_after_load_seconds": round(max(emptied - loaded, 0), 1) if not backlog() else None,
        "mixpanel": requests.get(f"http://127.0.0.1:{collector_port}/summary", timeout=5).json(),
        "samples": samples[:: max(1, len(samples) // 12)],
    }


def bench_key(path: Path) -> str:
    """The bench database's key ring, kept beside it so a later run can still open its rows."""
    if not path.exists():
        path.write_text("k1:" + base64.b64encode(os.urandom(32)).decode())
    return path.read_text().strip()


def redis_clear(url: str) -> None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except Exception as exc:
        print(f"note: could not clear {url}: {exc}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--worker-class", default=None, help="override gunicorn.conf.py (gevent, gthread)")
    parser.add_argument(
        "--server", default="granian", choices=["granian", "gunicorn"], help="what serves the proxy (Procfile: granian)"
    )
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--slow-bots", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="fast-path runs per server; the median is kept")
    parser.add_argument("--only", default="", help="comma-separated: fast,metrics,slow,isolation,drain,deliveries")
    parser.add_argument("--hang-client", nargs=4, metavar=("URL", "SECRET", "CONNECTIONS", "SECONDS"))
    parser.add_argument("--finish-cost", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--deliveries-cost", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.finish_cost:
        finish_cost()
        return
    if args.deliveries_cost:
        deliveries_cost()
        return
    if args.hang_client:
        url, secret, connections, seconds = args.hang_client
        hang_client(url, secret, int(connections), float(seconds))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    only = set(filter(None, args.only.split(","))) or {"fast", "metrics", "slow", "isolation", "drain", "deliveries"}

    var = ROOT / "var" / "bench"
    var.mkdir(parents=True, exist_ok=True)
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    broker_url = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ENCRYPTION_KEYS": bench_key(var / "encryption.key"),
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{var / 'bench.sqlite3'}"),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "ALLOW_PRIVATE_UPSTREAMS": "true",
        # Every feature on: the source check too (loopback stands for Telegram's ranges here).
        "PROXY_TELEGRAM_SOURCE_CHECK": "true",
        "PROXY_TELEGRAM_SOURCE_RANGES": "127.0.0.0/8,149.154.160.0/20,91.108.4.0/22",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Checked on every update, never reached: wrk sends one bot more connections than Telegram would
        # (max_connections is at most 100), and a refusal is cheaper than a forward, which would flatter us.
        "PROXY_MAX_IN_FLIGHT_PER_BOT": "100",
        "PROXY_TENANT_REQUESTS_PER_SECOND": "1000000",
    }
    if args.worker_class:
        env["GUNICORN_WORKER_CLASS"] = args.worker_class
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    for key in ("PUBLIC_URL", "ALLOWED_HOSTS"):
        env.pop(key, None)

    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        start(stack, [PYTHON, "scripts/bench_endpoint.py", "--delay", "0.2"], env, var / "endpoint.log")
        deadline = time.monotonic() + 10
        while not (var / "endpoint.log").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        endpoint_port = int((var / "endpoint.log").read_text().split()[0])
        bots = setup_database(env, endpoint_port, args.slow_bots)
        redis_clear(redis_url)

        proxy_port, minimal_port, minimal3_port = free_port(), free_port(), free_port()
        unmetered_port = free_port()
        # A fresh one (no other run's files to add up), in memory where there is a tmpfs, as the README advises.
        shm = Path("/dev/shm")
        env["METRICS_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-", dir=shm if shm.is_dir() else tmp)
        stack.callback(shutil.rmtree, env["METRICS_DIR"], True)
        gunicorn = [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
        proxy_command = (
            proxy_role(proxy_port)
            if args.server == "granian"
            else [*gunicorn, "--bind", f"127.0.0.1:{proxy_port}", "config.wsgi"]
        )
        metered_server = start(
            stack, proxy_command, {**env, "PUBLIC_URL": f"http://127.0.0.1:{proxy_port}"}, var / "proxy.log"
        )
        groups = {"metered": metered_server.pid}
        if "metrics" in only:  # the same proxy role counting nothing (METRICS_ENABLED=false): what the metrics cost
            unmetered = (
                [*proxy_role(unmetered_port)]
                if args.server == "granian"
                else [*gunicorn, "--bind", f"127.0.0.1:{unmetered_port}", "config.wsgi"]
            )
            groups["unmetered"] = start(
                stack,
                unmetered,
                {**env, "PUBLIC_URL": f"http://127.0.0.1:{unmetered_port}", "METRICS_ENABLED": "false"},
                var / "proxy-unmetered.log",
            ).pid
        fast_uuid, fast_secret = bots["fast"]
        for port, client in ((minimal_port, "requests"), (minimal3_port, "urllib3")):
            start(
                stack,
                [*gunicorn, "--bind", f"127.0.0.1:{port}", "--pythonpath", "scripts", "bench_minimal:application"],
                {
                    **env,
                    "BENCH_SECRET": fast_secret,
                    "BENCH_UPSTREAM": f"http://127.0.0.1:{endpoint_port}/fast",
                    "BENCH_CLIENT": client,
                },
                var / f"minimal-{client}.log",
            )
        for port in (proxy_port, minimal_port, minimal3_port, *([unmetered_port] if "metrics" in only else [])):
            wait_port(port)

        tmpdir = Path(tmp)
        fast_path = f"/proxy/bot/{fast_uuid}"
        direct = wrk_script(tmpdir / "direct.lua", [("/fast", "")])
        fast = wrk_script(tmpdir / "fast.lua", [(fast_path, fast_secret)])
        slow = wrk_script(tmpdir / "slow.lua", [(f"/proxy/bot/{u}", s) for u, s in bots["slow"]])
        proxy_url, minimal_url = f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{minimal_port}"
        minimal3_url = f"http://127.0.0.1:{minimal3_port}"
        # Warm up: route tables, pooled connections, lazy imports.
        for url, script in ((proxy_url, fast), (minimal_url, fast), (minimal3_url, fast), (proxy_url, slow)):
            wrk(url, script, 16, 2)
        duration = args.duration
        results: dict[str, Any] = {}
        if "fast" in only:
            for connections in (16, 64):
                results[f"direct c{connections}"] = wrk(
                    f"http://127.0.0.1:{endpoint_port}", direct, connections, duration
                )
                # Interleaved, so a neighbour's load spike on this shared machine hits all three alike.
                for _ in range(args.rounds):
                    for name, url in (
                        ("minimal", minimal_url),
                        ("minimal-urllib3", minimal3_url),
                        ("proxy", proxy_url),
                    ):
                        results.setdefault(f"{name} c{connections}", []).append(wrk(url, fast, connections, duration))
                for name in ("minimal", "minimal-urllib3", "proxy"):
                    results[f"{name} c{connections}"] = best(results[f"{name} c{connections}"])
        if "metrics" in only:
            unmetered_url = f"http://127.0.0.1:{unmetered_port}"
            wrk(unmetered_url, fast, 16, 2)
            for connections in (16, 64):
                # Interleaved, each pair back to back and in alternating order (on-off, off-on): a neighbour's
                # load spike, or load that grows over the rounds, hits both alike.
                pair = [("metered", proxy_url), ("unmetered", unmetered_url)]
                for round_ in range(args.rounds):
                    for name, url in pair if round_ % 2 == 0 else pair[::-1]:
                        used = cpu_seconds(groups[name])
                        run = wrk(url, fast, connections, duration)
                        # CPU per update barely moves with the neighbours' load, unlike throughput.
                        run["cpu_us"] = (cpu_seconds(groups[name]) - used) / run["requests"] * 1e6
                        run["load"] = os.getloadavg()[0]
                        results.setdefault(f"{name} c{connections}", []).append(run)
        if "metrics" in only:
            for name, enabled in (("finish on", "true"), ("finish off", "false")):
                done = subprocess.run(
                    [PYTHON, __file__, "--finish-cost"],
                    env={**env, "METRICS_ENABLED": enabled},
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[name] = json.loads(done.stdout.strip().splitlines()[-1])["finish_us"]
        if "slow" in only or "isolation" in only:
            results["slow"] = wrk(proxy_url, slow, 200, duration)
        if "isolation" in only:
            hang_uuid, hang_secret = bots["hang"]
            hang_args = [f"{proxy_url}/proxy/bot/{hang_uuid}", hang_secret, "40", str(duration + 4)]
            start(stack, [PYTHON, __file__, "--hang-client", *hang_args], env, var / "hang.log")
            time.sleep(2)
            results["isolation"] = wrk(proxy_url, slow, 200, duration)
        if "drain" in only:
            results["drain"] = drain_under_load(stack, env, var, proxy_url, fast, duration)
        if "deliveries" in only:
            done = subprocess.run(
                [PYTHON, __file__, "--deliveries-cost"], env=env, cwd=ROOT, capture_output=True, text=True, check=True
            )
            results["deliveries insert"] = json.loads(done.stdout.strip().splitlines()[-1])
            # The delivery log is written by the drain, not the proxy: the proxy under full load with a worker
            # draining beside it, the log on and off in alternating order, each run with a fresh worker.
            for round_ in range(args.rounds):
                for enabled in ("true", "false") if round_ % 2 == 0 else ("false", "true"):
                    used = cpu_seconds(groups["metered"])
                    with ExitStack() as run_stack:
                        run = drain_under_load(
                            run_stack, {**env, "DELIVERY_LOG_ENABLED": enabled}, var, proxy_url, fast, duration
                        )
                    run["proxy_cpu_us"] = (cpu_seconds(groups["metered"]) - used) / run["requests"] * 1e6
                    run["load"] = os.getloadavg()[0]
                    results.setdefault(f"deliveries {enabled}", []).append(run)
        redis_clear(redis_url)
        redis_clear(broker_url)

    report(results, args)


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    def ms(us: float) -> str:
        return f"{us / 1000:.2f}"

    print(f"\nworker class: {args.worker_class or 'from gunicorn.conf.py'}; {args.duration:g} s per run")
    if "proxy c16" in results:
        print(f"fast endpoint; median of {args.rounds} interleaved runs per server\n")
        print("| through | conns | req/s | p50 ms | p99 ms | non-2xx | vs direct | vs minimal | vs minimal (urllib3) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for connections in (16, 64):
            direct, minimal = results[f"direct c{connections}"], results[f"minimal c{connections}"]
            minimal3 = results[f"minimal-urllib3 c{connections}"]
            for name, label in (
                ("direct", "direct to the endpoint"),
                ("minimal", "minimal forwarder (requests)"),
                ("minimal-urllib3", "minimal forwarder (urllib3)"),
                ("proxy", "BotPresto, every feature on"),
            ):
                r = results[f"{name} c{connections}"]
                vs_min = vs_min3 = ""
                if name != "direct":
                    vs_min = f"{r['rps'] / minimal['rps']:.0%}, p50 {(r['p50'] - minimal['p50']) / 1000:+.2f} ms"
                    vs_min3 = f"{r['rps'] / minimal3['rps']:.0%}, p50 {(r['p50'] - minimal3['p50']) / 1000:+.2f} ms"
                print(
                    f"| {label} | {connections} | {r['rps']:.0f} | {ms(r['p50'])} | {ms(r['p99'])} | "
                    f"{r['non2xx'] + r['errors']} | {r['rps'] / direct['rps']:.0%} | {vs_min} | {vs_min3} |"
                )

    def cpu(runs: list[dict[str, Any]]) -> float:
        return float(sorted(r["cpu_us"] for r in runs)[len(runs) // 2])

    if "metered c16" in results:
        print(f"\nmetrics on against off (METRICS_ENABLED=false), {args.rounds} interleaved runs each, medians\n")
        print(
            "| conns | req/s on | req/s off | on / off | median of pair ratios | p50 ms on | p50 ms off "
            "| proxy CPU µs per update on / off | load average during the runs |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for connections in (16, 64):
            on, off = results[f"metered c{connections}"], results[f"unmetered c{connections}"]
            rps_on = sorted(r["rps"] for r in on)[len(on) // 2]
            rps_off = sorted(r["rps"] for r in off)[len(off) // 2]
            p50_on = sorted(r["p50"] for r in on)[len(on) // 2]
            p50_off = sorted(r["p50"] for r in off)[len(off) // 2]
            loads = sorted(r["load"] for r in on + off)
            pairs = sorted(a["rps"] / b["rps"] for a, b in zip(on, off, strict=True))
            print(
                f"| {connections} | {rps_on:.0f} | {rps_off:.0f} | {rps_on / rps_off:.1%} | "
                f"{pairs[len(pairs) // 2]:.1%} | {ms(p50_on)} | {ms(p50_off)} | {cpu(on):.0f} / {cpu(off):.0f} "
                f"({cpu(on) / cpu(off) - 1:+.1%}) | {loads[0]:.1f}-{loads[-1]:.1f} "
                f"(median {loads[len(loads) // 2]:.1f}) |"
            )
    if "finish on" in results:
        on, off = results["finish on"], results["finish off"]
        cpu_per_update = cpu(results["unmetered c16"]) if "unmetered c16" in results else None
        share = f", {(on - off) / cpu_per_update:.2%} of the proxy's CPU per update" if cpu_per_update else ""
        print(
            f"\nafter-answer work per update, in one process (best of 5 x 20000): {on:.1f} µs with metrics, "
            f"{off:.1f} µs without: {on - off:.1f} µs{share}"
        )
    if "slow" in results:
        ideal = 200 / 0.2
        print(
            f"\n| {args.slow_bots} bots, endpoints taking 200 ms, 200 conns | req/s | of ideal ({ideal:.0f}) ", end=""
        )
        print("| p50 ms | p99 ms | non-2xx or errors |")
        print("|---|---|---|---|---|---|")
        for name in ("slow", "isolation"):
            if name in results:
                r = results[name]
                label = "alone" if name == "slow" else "+ 1 bot whose endpoint never answers (40 conns)"
                print(
                    f"| {label} | {r['rps']:.0f} | {r['rps'] / ideal:.0%} | {ms(r['p50'])} | {ms(r['p99'])} | "
                    f"{r['non2xx'] + r['errors']} |"
                )
        if "isolation" in results:
            cost = 1 - results["isolation"]["rps"] / results["slow"]["rps"]
            print(f"\nthe hanging bot costs the others {cost:.1%} of their throughput")
    if "drain" in results:
        r = results["drain"]
        print(
            f"\nanalytics drain, one worker process, while the proxy serves {r['rps']:.0f} req/s (64 conns): "
            f"backlog at most {r['backlog_max']} records, {r['backlog_end_of_load']} when the load stopped, "
            f"empty {r['empty_after_load_seconds']} s later; Mixpanel got {r['mixpanel']['events']} events "
            f"for {r['requests']} updates"
        )
    if "deliveries insert" in results:
        r = results["deliveries insert"]
        print(
            f"\ndelivery log insert in one process (median of 8 x 5000 records): {r['cpu_us']:.1f} µs of worker CPU "
            f"and {r['wall_us']:.1f} µs wall (the database's work included) per record"
        )
    if "deliveries true" in results:
        on, off = results["deliveries true"], results["deliveries false"]

        def median(runs: list[dict[str, Any]], key: str) -> float:
            return float(sorted(r[key] for r in runs)[len(runs) // 2])

        pairs = sorted(a["rps"] / b["rps"] for a, b in zip(on, off, strict=True))
        loads = sorted(r["load"] for r in on + off)
        print(
            f"\ndelivery log on against off (DELIVERY_LOG_ENABLED), proxy at 64 conns with one worker draining, "
            f"{len(on)} alternating runs each, medians: proxy {median(on, 'rps'):.0f} / {median(off, 'rps'):.0f} "
            f"req/s ({median(on, 'rps') / median(off, 'rps'):.1%}, median of pair ratios "
            f"{pairs[len(pairs) // 2]:.1%}); proxy CPU per update {median(on, 'proxy_cpu_us'):.0f} / "
            f"{median(off, 'proxy_cpu_us'):.0f} µs; worker CPU per record "
            f"{median(on, 'worker_cpu_us_per_record'):.0f} / "
            f"{median(off, 'worker_cpu_us_per_record'):.0f} µs; backlog at most {median(on, 'backlog_max'):.0f} / "
            f"{median(off, 'backlog_max'):.0f} records; load average {loads[0]:.1f}-{loads[-1]:.1f}"
        )
    print("\nraw:", json.dumps(results))


if __name__ == "__main__":
    main()
