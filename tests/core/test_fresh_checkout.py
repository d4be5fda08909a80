"""The production roles start on a fresh checkout (no var/, no .env) with only the documented environment."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import TEST_ENCRYPTION_KEYS

ROOT = Path(__file__).resolve().parents[2]
# A database of this test's own, emptied afterwards: beat sends its due tasks there, and they must not reach
# the queues the suite's real workers read.
REDIS_URL = "redis://127.0.0.1:6379/15"


def fresh_checkout(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_it_starts_beat_with_a_redis_broker_on_a_fresh_checkout(tmp_path: Path) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("needs Redis")
    checkout = fresh_checkout(tmp_path / "checkout")
    assert not (checkout / "var").exists()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DEBUG", "DATABASE", "CELERY"))}
    env.update(
        SECRET_KEY="x" * 50,
        ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL=REDIS_URL,
        REDIS_URL=REDIS_URL,
    )
    beat = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "config", "beat", "--loglevel=INFO"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline and beat.poll() is None and not list(checkout.glob("var/celerybeat-schedule*"))
        ):
            time.sleep(0.2)
        time.sleep(2)  # past its first tick
        alive = beat.poll() is None
    finally:
        beat.send_signal(signal.SIGTERM)
        output = beat.communicate(timeout=20)[0]
        redis.Redis.from_url(REDIS_URL).flushdb()
    assert alive, output[-3000:]
    assert "FileNotFoundError" not in output
    assert list(checkout.glob("var/celerybeat-schedule*"))
