"""make run's Celery app leaves the routine periodic lines out of the log, and nothing else."""

from __future__ import annotations

import logging

from botpresto.devtools.celery_dev import RoutineTasksFilter


def record(
    logger: str, message: str, *args: object, level: int = logging.INFO, task: str | None = None
) -> logging.LogRecord:
    made = logging.LogRecord(logger, level, __file__, 1, message, args or None, None)
    if task:
        made.data = {"id": "x", "name": task}
    return made


def test_it_leaves_out_the_periodic_tasks_routine_lines() -> None:
    quiet = RoutineTasksFilter()
    drain = "analytics.tasks.analytics_drain_task"
    assert not quiet.filter(record("celery.beat", "Scheduler: Sending due task %s (%s)", "analytics-drain", drain))
    assert not quiet.filter(record("celery.worker.strategy", "Task received", task=drain))
    assert not quiet.filter(record("celery.app.trace", "Task succeeded", task=drain))


def test_it_keeps_other_tasks_and_every_failure() -> None:
    quiet = RoutineTasksFilter()
    assert quiet.filter(
        record("celery.app.trace", "Task succeeded", task="botpresto.notifications.tasks.owner_alert_send_task")
    )
    failed = record("celery.app.trace", "Task failed", level=logging.ERROR, task="analytics.tasks.analytics_drain_task")
    assert quiet.filter(failed)
    assert quiet.filter(record("celery.beat", "beat: Starting..."))
