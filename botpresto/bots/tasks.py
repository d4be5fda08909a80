"""Celery tasks: thin interfaces that take ids and call a service."""

from __future__ import annotations

from django.conf import settings

from botpresto.bots.health import webhook_health_check, webhook_health_due, webhook_health_manual_refresh
from botpresto.bots.maintenance import maintenance_run, maintenance_tick
from botpresto.bots.models import Bot, MaintenanceWindow
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
    webhook_health_manual_refresh()


@app.task
def webhook_health_check_task(bot_ids: list[int]) -> None:
    for bot in Bot.objects.filter(id__in=bot_ids).order_by("id"):
        webhook_health_check(bot=bot)
