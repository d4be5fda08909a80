from __future__ import annotations

from django.conf import settings

from config.celery import app


def test_it_every_scheduled_analytics_task_exists() -> None:
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    analytics = {name for name in scheduled if str(name).startswith("analytics.")}
    assert analytics == {
        "analytics.tasks.analytics_drain_task",
        "analytics.tasks.analytics_mixpanel_send_task",
        "analytics.tasks.analytics_stats_prune_task",
        "analytics.tasks.deliveries_prune_task",
    }
    assert analytics <= set(app.tasks)
