"""One retry policy for every task: transient errors retried with backoff and a bound, the rest not."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from botpresto.core.retry import MAX_RETRIES
from botpresto.core.telegram import PermanentError, RateLimited, TelegramUnavailable
from config.celery import app

raised: list[Exception] = []


@app.task(name="tests.flaky")
def flaky() -> str:
    raise raised[0]


def run(exc: Exception, **options: Any) -> Any:
    raised[:] = [exc]
    return flaky.apply(**options)


@pytest.mark.parametrize(
    "exc",
    [OperationalError("the database is away"), TelegramUnavailable("sendMessage", "down"), ConnectionError()],
)
def test_it_a_transient_error_is_retried(exc: Exception) -> None:
    with pytest.raises(Retry):
        run(exc)


def test_it_a_rate_limit_waits_at_least_as_long_as_asked() -> None:
    with pytest.raises(Retry) as caught:
        run(RateLimited("sendMessage", "slow down", retry_after=42))
    assert caught.value.when == 42


def test_it_a_refusal_is_not_retried() -> None:
    with pytest.raises(PermanentError):
        run(PermanentError("sendMessage", "chat not found", 400))


def test_it_retries_are_bounded() -> None:
    assert flaky.max_retries == MAX_RETRIES
    with pytest.raises(OperationalError):  # the last retry gives up with the error itself
        run(OperationalError("still away"), retries=MAX_RETRIES)


def test_it_every_project_task_follows_the_policy() -> None:
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if name.startswith(("botpresto.", "analytics.", "proxy."))]
    assert ours
    assert all(OperationalError in task.autoretry_for and task.max_retries == MAX_RETRIES for task in ours)
