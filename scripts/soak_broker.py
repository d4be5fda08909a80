"""Soak the embedded broker (botpresto.core.broker) as `make demo` uses it, and check nothing is lost.

Starts, on a fresh broker folder, the roles of scripts/Procfile.demo that touch the broker: a
worker for the celery and notices queues, one for alerts, and beat with the project's rhythm
(two schedules every 2 s, one every 30 s, two every minute). This process plays the web and
proxy processes, sending tasks at a demo-like rate with bursts (a notice per user when an
endpoint goes down). It fails if any role exits, if a sent task was not executed once the
sending stops, or if beat's ticks did not all run.

    python scripts/soak_broker.py --seconds 3600            # the hour the README quotes
    python scripts/soak_broker.py --seconds 60 --json out.json
    SOAK_BROKER_TRANSPORT=kombu.transport.filesystem:Transport python scripts/soak_broker.py  # kombu's own

The same file is the soak's Celery app (the roles run ``celery -A soak_broker``); the tasks
only note that they ran.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the transport is botpresto.core.broker
FOLDER = Path(os.environ.get("SOAK_BROKER_DIR") or Path(tempfile.gettempdir()) / "botpresto-soak-broker")
TRANSPORT = os.environ.get("SOAK_BROKER_TRANSPORT") or "botpresto.core.broker:Transport"

app = Celery("soak")
app.conf.update(
    broker_url="filesystem://",
    broker_transport=TRANSPORT,
    broker_transport_options={
        "data_folder_in": str(FOLDER / "queue"),
        "data_folder_out": str(FOLDER / "queue"),
        "control_folder": str(FOLDER / "control"),
        "store_processed": False,
        "polling_interval": 0.25,
    },
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue="celery",
    task_queues=[Queue("celery"), Queue("alerts"), Queue("notices")],
    task_routes={"soak.alert": {"queue": "alerts"}, "soak.notice": {"queue": "notices"}},
    beat_schedule_filename=str(FOLDER / "beat-schedule"),
    beat_schedule={
        "every-2s-a": {"task": "soak.tick", "schedule": 2.0, "args": ("2s-a",), "options": {"expires": 10}},
        "every-2s-b": {"task": "soak.tick", "schedule": 2.0, "args": ("2s-b",), "options": {"expires": 10}},
        "every-30s": {"task": "soak.tick", "schedule": 30.0, "args": ("30s",)},
        "every-minute-a": {"task": "soak.tick", "schedule": crontab(), "args": ("1m-a",)},
        "every-minute-b": {"task": "soak.tick", "schedule": crontab(), "args": ("1m-b",)},
    },
)


def _note(line: str) -> None:
    # One write per line on an O_APPEND file: lines of concurrent processes do not interleave.
    fd = os.open(FOLDER / "done.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@app.task(name="soak.record")
def record(token: str, sent_at: float) -> None:
    _note(f"task {token} {time.time() - sent_at:.3f}")


@app.task(name="soak.notice")
def notice(token: str, sent_at: float) -> None:
    _note(f"task {token} {time.time() - sent_at:.3f}")


@app.task(name="soak.alert")
def alert(token: str, sent_at: float) -> None:
    _note(f"task {token} {time.time() - sent_at:.3f}")


@app.task(name="soak.tick")
def tick(name: str) -> None:
    _note(f"tick {name}")


ROLES = {
    "worker": ["worker", "-Q", "celery,notices", "--concurrency=2", "-n", "main@%h"],
    "alerts": ["worker", "-Q", "alerts", "--concurrency=1", "-n", "alerts@%h"],
    "beat": ["beat"],
}


def _start(role: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    celery = Path(sys.executable).with_name("celery")
    args = [str(celery), "-A", "soak_broker", *ROLES[role], "--loglevel=WARNING"]
    if role != "beat":
        args += ["--without-mingle", "--without-gossip"]
    log = open(FOLDER / f"{role}.log", "wb")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen(args, cwd=ROOT / "scripts", env=env, stdout=log, stderr=subprocess.STDOUT)


def _tail(role: str, lines: int = 15) -> str:
    text = (FOLDER / f"{role}.log").read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _executed() -> tuple[dict[str, list[float]], dict[str, int]]:
    tasks: dict[str, list[float]] = {}
    ticks: dict[str, int] = {}
    path = FOLDER / "done.log"
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, name, *rest = line.split()
        if kind == "task":
            tasks.setdefault(name, []).append(float(rest[0]))
        else:
            ticks[name] = ticks.get(name, 0) + 1
    return tasks, ticks


def soak(*, seconds: float, rate: float, burst_every: float, burst: int, drain: float) -> dict[str, Any]:
    shutil.rmtree(FOLDER, ignore_errors=True)
    for sub in ("queue", "control"):
        (FOLDER / sub).mkdir(parents=True)
    env = {
        **os.environ,
        "SOAK_BROKER_DIR": str(FOLDER),
        "SOAK_BROKER_TRANSPORT": TRANSPORT,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT)]),
    }
    processes = {role: _start(role, env) for role in ROLES}
    sent: set[str] = set()
    crashed: dict[str, Any] = {}
    started = time.monotonic()
    next_burst = started + burst_every
    tasks = {"celery": record, "notices": notice, "alerts": alert}
    weights = {"celery": 0.7, "notices": 0.2, "alerts": 0.1}

    def send(queue: str) -> None:
        token = uuid.uuid4().hex
        tasks[queue].apply_async(args=(token, time.time()), retry=False)
        sent.add(token)

    def check() -> None:
        for role, process in processes.items():
            if role not in crashed and process.poll() is not None:
                crashed[role] = {"returncode": process.returncode, "after_s": round(time.monotonic() - started, 1)}

    try:
        while time.monotonic() - started < seconds and not crashed:
            send(random.choices(list(weights), list(weights.values()))[0])
            if time.monotonic() >= next_burst:  # an endpoint went down: a notice per waiting user, an alert
                for _ in range(burst):
                    send("notices")
                send("alerts")
                next_burst += burst_every
            check()
            time.sleep(random.expovariate(rate))
        deadline = time.monotonic() + drain
        while not crashed and time.monotonic() < deadline:
            if sent <= set(_executed()[0]):
                break
            check()
            time.sleep(0.5)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    ran_for = time.monotonic() - started
    executed, ticks = _executed()
    latencies = sorted(min(values) for token, values in executed.items() if token in sent)
    unreadable = FOLDER / "unreadable"
    # Beat ticks: each 2 s schedule should have run about once per 2 s of the run.
    expected_2s = int(min(seconds, ran_for) / 2)
    result = {
        "transport": TRANSPORT,
        "seconds": round(ran_for, 1),
        "sent": len(sent),
        "executed": len(sent & set(executed)),
        "missing": len(sent - set(executed)),
        "executed_twice": sum(1 for token, values in executed.items() if len(values) > 1),
        "latency_p50_s": latencies[len(latencies) // 2] if latencies else None,
        "latency_p99_s": latencies[int(len(latencies) * 0.99)] if latencies else None,
        "latency_max_s": latencies[-1] if latencies else None,
        "beat_ticks": ticks,
        "beat_ticks_expected_2s": expected_2s,
        "unreadable_files": len(list(unreadable.iterdir())) if unreadable.exists() else 0,
        "crashed": crashed,
        "crash_logs": {role: _tail(role) for role in crashed},
    }
    result["ok"] = (
        not crashed
        and result["missing"] == 0
        and result["unreadable_files"] == 0
        and all(ticks.get(name, 0) >= expected_2s * 0.8 - 1 for name in ("2s-a", "2s-b"))
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--rate", type=float, default=10.0, help="tasks a second sent by the web and proxy roles")
    parser.add_argument("--burst-every", type=float, default=20.0, help="seconds between bursts of notices")
    parser.add_argument("--burst", type=int, default=30, help="notices in a burst")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the last tasks to run")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    result = soak(
        seconds=args.seconds, rate=args.rate, burst_every=args.burst_every, burst=args.burst, drain=args.drain
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
