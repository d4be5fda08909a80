"""Celery tasks of the bots app: thin interfaces that take ids or JSON and call a service."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from botpresto.bots import states
from botpresto.bots.health import webhook_health_check, webhook_health_due
from botpresto.bots.jobs import bot_job_run
from botpresto.bots.maintenance import maintenance_run, maintenance_tick
from botpresto.bots.models import Bot, BotJob, MaintenanceWindow
from config.celery import app


@app.task
def maintenance_tick_task() -> None:
    maintenance_tick()


@app.task
def maintenance_switch_task(window_id: int, direction: str) -> None:
    """Switch up to MAINTENANCE_CHUNK_SIZE of the window's bots; other tasks take the rest."""
    window = MaintenanceWindow.objects.filter(id=window_id).first()
    if window is not None:
        maintenance_run(window=window, direction=direction, max_bots=settings.MAINTENANCE_CHUNK_SIZE)


@app.task
def webhook_health_beat_task() -> None:
    """Every minute: this minute's slice of bots, in chunks across workers; then the manual-mode bots."""
    bot_ids = webhook_health_due()
    size = settings.MAINTENANCE_CHUNK_SIZE
    for start in range(0, len(bot_ids), size):
        webhook_health_check_task.delay(bot_ids[start : start + size])
    states.bots_manual_refresh()


@app.task
def webhook_health_check_task(bot_ids: list[int]) -> None:
    for bot in Bot.objects.filter(id__in=bot_ids).order_by("id"):
        webhook_health_check(bot=bot)


@app.task
def bot_endpoint_failing_task(bot_id: int, since: float, details: dict[str, Any]) -> bool:
    """The proxy saw ALERT_AFTER_FAILURES failed forwards in a row, the first at ``since``."""
    bot = Bot.objects.filter(id=bot_id).first()
    return bot is not None and states.bot_endpoint_failing(bot=bot, since=since, details=details)


@app.task
def bot_endpoint_recoveries_sweep_task() -> int:
    """Beat: failing bots whose endpoint took an update since, and whose recovery task was lost."""
    from proxy.health import recoveries_sweep  # the proxy's marks of delivered updates

    return recoveries_sweep()


@app.task
def bot_endpoint_recovered_task(bot_id: int, at: float, held: int) -> bool:
    """The proxy forwarded an update of a failing bot at ``at``."""
    bot = Bot.objects.filter(id=bot_id).first()
    return bot is not None and states.bot_endpoint_recovered(bot=bot, at=at, held=held)


@app.task
def bot_job_run_task(job_id: int) -> None:
    """Handle up to MAINTENANCE_CHUNK_SIZE bots of a staff bulk action; other tasks take the rest."""
    job = BotJob.objects.filter(id=job_id).first()
    if job is not None:
        bot_job_run(job=job, max_items=settings.MAINTENANCE_CHUNK_SIZE)
