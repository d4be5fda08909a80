"""The Celery app as `make run` and `make demo` start it: the same app, without the routine lines.

Beat sends the analytics drain and the Mixpanel sender every 2 s, and the worker logged each
one received and done: about 190 lines a minute on an idle machine, which scrolled the login
out of sight. Here the periodic tasks' "sending", "received" and "succeeded" lines are left
out; a failure of one, and every line of any other task (an alert sent, a notice), still shows.
"""

from __future__ import annotations

import logging

from config.celery import app

__all__ = ["app"]


class RoutineTasksFilter(logging.Filter):
    """Drops the INFO lines about tasks that run on the beat schedule."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        if record.name == "celery.beat":
            return not record.getMessage().startswith("Scheduler: Sending due task")
        data = getattr(record, "data", None)
        return not (isinstance(data, dict) and data.get("name") in _routine())


def _routine() -> set[str]:
    return {entry["task"] for entry in (app.conf.beat_schedule or {}).values()}


for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(RoutineTasksFilter())
