"""Notification tasks. Owner alerts run on the "alerts" queue, user notices on "notices",
so an alert never waits behind a burst of notices."""

from __future__ import annotations

from typing import Any

from botpresto.bots.models import Bot
from botpresto.bots.states import bot_mark_token_revoked
from botpresto.core.metrics import NOTICES
from botpresto.core.telegram import TokenRevoked
from botpresto.notifications.alerts import AlertHeldBack, alert_send, alerts_sweep
from botpresto.notifications.back import back_send
from botpresto.notifications.notices import NoticeTarget, notice_send
from config.celery import app

HELD_BACK_SECONDS = 3  # a recovered alert looks again this soon for its failing alert to be sent


@app.task(bind=True)
def owner_alert_send_task(self: Any, alert_id: int) -> int:
    try:
        return alert_send(alert_id=alert_id, claimer=str(self.request.id or ""))
    except AlertHeldBack as exc:
        # Bounded like every retry; past it, the sweep sends the alert once its failing one is out.
        raise self.retry(exc=exc, countdown=HELD_BACK_SECONDS) from None


@app.task
def owner_alerts_sweep_task() -> int:
    return alerts_sweep()


def _counted(kind: str, result: str) -> str:
    NOTICES.labels(kind=kind, result=result).inc()
    return result


@app.task
def notice_send_task(bot_id: int, target: dict[str, Any], failed_at: float) -> str:
    try:
        return _counted("down", notice_send(bot_id=bot_id, target=NoticeTarget(**target), failed_at=failed_at))
    except TokenRevoked:
        bot = Bot.objects.filter(id=bot_id).first()
        if bot is not None:
            bot_mark_token_revoked(bot=bot)
        return _counted("down", "token_revoked")


@app.task
def notice_back_send_task(bot_id: int, chat_id: int, language: str) -> str:
    try:
        return _counted("back", back_send(bot_id=bot_id, chat_id=chat_id, language=language))
    except TokenRevoked:
        bot = Bot.objects.filter(id=bot_id).first()
        if bot is not None:
            bot_mark_token_revoked(bot=bot)
        return _counted("back", "token_revoked")
