"""The pipeline run by a real Celery worker process (needs PostgreSQL and Redis, as in .ci/run)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from analytics import buffer
from analytics.models import BotHourlyStats, EndUser
from analytics.tasks import analytics_drain_task, analytics_mixpanel_send_task
from botpresto.bots.models import Bot
from botpresto.devtools.collector import MixpanelCollector
from tests.analytics.conftest import Push, message

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_queue(collector: MixpanelCollector) -> Iterator[str]:
    if (
        connection.vendor != "postgresql"
        or not settings.REDIS_URL
        or not settings.CELERY_BROKER_URL.startswith("redis")
    ):
        pytest.skip("a worker process shares the database and the buffer only with PostgreSQL and Redis")
    queue = f"test-{uuid.uuid4().hex[:8]}"  # nobody else's worker takes these tasks
    db = connection.settings_dict
    login = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://{login}@{db['HOST']}:{db['PORT']}/{db['NAME']}",  # the test database
        "MIXPANEL_API_URL": collector.url,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        yield queue
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.1)


def test_it_a_worker_drains_the_buffer_into_end_users_and_mixpanel(
    bot: Bot, collector: MixpanelCollector, push: Push, worker_queue: str
) -> None:
    for n in range(3):
        push(bot, message(n, {"id": 900 + n, "first_name": "W", "language_code": "en"}))
    analytics_drain_task.apply_async(queue=worker_queue)
    wait_for(lambda: EndUser.objects.filter(bot=bot).count() == 3)
    analytics_mixpanel_send_task.apply_async(queue=worker_queue)
    wait_for(lambda: len(collector.events) == 3)
    assert len(collector.profiles) == 3


def test_it_takes_over_the_batch_of_a_worker_killed_mid_drain_and_counts_it_once(
    bot: Bot, push: Push, worker_queue: str
) -> None:
    for n in range(40):
        push(bot, message(n, {"id": 950 + n % 7, "first_name": "K", "language_code": "en"}))
    shard = buffer.shard_of({"bot": str(bot.uuid)})
    assert buffer.lease_take(shard, "killed-worker")
    killed = buffer.batch_read(shard, "killed-worker", 25)  # read, never written nor acknowledged
    assert killed is not None
    assert len(killed.ids) == 25
    buffer.lease_release(shard, "killed-worker")  # its lease has run out

    analytics_drain_task.apply_async(queue=worker_queue)

    def counted() -> int:
        return BotHourlyStats.objects.filter(bot=bot).aggregate(n=Sum("updates"))["n"] or 0

    wait_for(lambda: counted() == 40 and buffer.buffer_length() == 0)
    analytics_drain_task.apply_async(queue=worker_queue)
    time.sleep(1)
    assert counted() == 40
    assert EndUser.objects.filter(bot=bot).count() == 7
