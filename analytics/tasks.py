from __future__ import annotations

from config.celery import app


@app.task
def analytics_drain_task() -> None:
    from analytics.services import records_drain

    records_drain()


@app.task
def analytics_mixpanel_send_task() -> None:
    from analytics.services import mixpanel_send

    mixpanel_send()


@app.task
def analytics_stats_prune_task() -> None:
    from analytics.audience import cohorts_prune
    from analytics.services import stats_prune

    stats_prune()
    cohorts_prune()


@app.task
def deliveries_prune_task() -> None:
    from analytics.deliveries import deliveries_prune

    deliveries_prune()
