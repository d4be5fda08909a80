"""The one Celery app, configured from Django settings (CELERY_ namespace).

Every task is a TransientRetryTask: retried on transient errors only, with backoff
and a bound (botpresto.core.retry).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("botpresto", task_cls="botpresto.core.retry:TransientRetryTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
