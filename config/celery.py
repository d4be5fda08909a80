"""The one Celery app, configured from Django settings (CELERY_ namespace).

Every task is a TransientRetryTask: retried on transient errors only, with backoff
and a bound (botpresto.core.retry).
"""

import os

from celery import Celery
from celery.signals import worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("botpresto", task_cls="botpresto.core.retry:TransientRetryTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_shutdown.connect
def _metrics_process_dead(pid: int | None = None, **_: object) -> None:
    """A pool process stops: its live gauges no longer count (botpresto.core.metrics)."""
    from botpresto.core.metrics import process_dead

    process_dead(pid)
