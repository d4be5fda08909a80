"""Every Procfile runs a worker for owner alerts alone, so an alert never waits behind a burst of notices."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PROCFILES = [ROOT / "Procfile", ROOT / "scripts" / "Procfile.dev", ROOT / "scripts" / "Procfile.demo"]


def worker_queues(procfile: Path) -> dict[str, set[str]]:
    """Each worker role and the queues it consumes (all of them without -Q)."""
    every = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    roles = {}
    for line in procfile.read_text().splitlines():
        role, _, command = line.partition(":")
        words = command.split()
        if "worker" in words and "celery" in " ".join(words[:2]):
            roles[role] = set(words[words.index("-Q") + 1].split(",")) if "-Q" in words else every
    return roles


@pytest.mark.parametrize("procfile", PROCFILES, ids=lambda p: p.name)
def test_it_runs_a_worker_that_takes_only_owner_alerts(procfile: Path) -> None:
    roles = worker_queues(procfile)
    assert {"alerts"} in roles.values()
    assert all("alerts" not in queues for queues in roles.values() if "notices" in queues)


@pytest.mark.parametrize("procfile", PROCFILES, ids=lambda p: p.name)
def test_it_every_queue_has_a_worker(procfile: Path) -> None:
    consumed = set().union(*worker_queues(procfile).values())
    assert consumed == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def test_it_the_endpoint_transitions_and_owner_alerts_go_to_the_alerts_queue() -> None:
    from config.celery import app

    app.loader.import_default_modules()
    router = app.amqp.router
    for name in (
        "botpresto.bots.tasks.bot_endpoint_failing_task",
        "botpresto.bots.tasks.bot_endpoint_recovered_task",
        "botpresto.notifications.tasks.owner_alert_send_task",
    ):
        assert router.route({}, name)["queue"].name == "alerts"
    assert router.route({}, "botpresto.notifications.tasks.notice_send_task")["queue"].name == "notices"
