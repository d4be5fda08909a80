"""The one retry policy for background work.

A task fails for a transient reason (Telegram or the mail server unreachable, Telegram's
429, the database or Redis away): Celery retries it with exponential backoff, at most
MAX_RETRIES times, never sooner than a Retry-After the other side asked for. Anything
else (a 4xx, a bug) is not retried.
"""

from __future__ import annotations

import smtplib
from typing import Any

from celery import Task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from botpresto.core.telegram import RateLimited, TelegramUnavailable

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    TelegramUnavailable,
    RateLimited,
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    smtplib.SMTPException,
    ConnectionError,
    TimeoutError,
)
MAX_RETRIES = 8
BACKOFF_MAX = 600  # seconds; with jitter, eight retries span about 15 minutes


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the other side asked us to wait (Telegram's retry_after), if it said."""
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, int | float) and value > 0 else None


class TransientRetryTask(Task):  # type: ignore[misc]
    """Base of every task: retried on transient errors only, with backoff and a bound."""

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = BACKOFF_MAX
    retry_jitter = True
    max_retries = MAX_RETRIES

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        wait = retry_after(kwargs.get("exc"))
        if wait is not None and (kwargs.get("countdown") is None or kwargs["countdown"] < wait):
            kwargs["countdown"] = wait
        return super().retry(*args, **kwargs)
