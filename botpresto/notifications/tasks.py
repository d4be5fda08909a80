from __future__ import annotations

from smtplib import SMTPException
from typing import Any

from celery import Task

from botpresto.core.telegram import RateLimited, TelegramUnavailable
from botpresto.notifications.notices import NoticeTarget
from config.celery import app
from proxy.services import notice_send, owner_alert_send


@app.task(bind=True, max_retries=3, ignore_result=True)
def proxy_notice_task(self: Task, bot_id: int, target: dict[str, Any]) -> str:
    try:
        return notice_send(bot_id=bot_id, target=NoticeTarget(**target), claimed=self.request.retries > 0)
    except RateLimited as exc:
        raise self.retry(countdown=exc.retry_after) from None
    except TelegramUnavailable:
        raise self.retry(countdown=2 ** (self.request.retries + 1)) from None


@app.task(autoretry_for=(SMTPException, OSError), retry_backoff=True, max_retries=5, ignore_result=True)
def proxy_owner_alert_task(bot_id: int, state: str, details: dict[str, Any]) -> int:
    return owner_alert_send(bot_id=bot_id, state=state, details=details)
