"""Queue background work by task name, after the current transaction commits.

By name, so that services queue work without importing the task modules that import
them back. With CELERY_TASK_ALWAYS_EAGER the task runs in this process, as a
registered task's apply_async would; otherwise it goes to the broker.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from config.celery import app

logger = logging.getLogger(__name__)


def task_send(name: str, *args: Any, **options: Any) -> bool:
    """Queue ``name(*args)`` now; False (logged) when the broker could not take it."""
    if app.conf.task_always_eager:  # run in this process (CELERY_TASK_ALWAYS_EAGER): register the tasks first
        app.loader.import_default_modules()
    try:
        app.signature(name, args=args).apply_async(retry=False, **options)
    except Exception as exc:  # the broker is down: callers with an outbox row get a second chance
        logger.warning("task_enqueue_failed task=%s error=%s", name, type(exc).__name__)
        return False
    return True


def task_enqueue(name: str, *args: Any, **options: Any) -> None:
    """Queue ``name(*args)`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task_send(name, *args, **options))
