"""Outage emails reach the owners in order, and a database outage while one is sent does not hold it for minutes."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from botpresto.bots import states
from botpresto.notifications.alerts import AlertHeldBack, alert_send
from botpresto.notifications.models import OwnerAlert
from botpresto.notifications.tasks import owner_alert_send_task
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db


def outage(owner: Party) -> tuple[OwnerAlert, OwnerAlert]:
    bot = bot_make(owner.tenant)
    since = time.time() - 60
    states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect", "failures": 3})
    states.bot_endpoint_recovered(bot=bot, at=since + 30)
    failing, recovered = OwnerAlert.objects.filter(bot=bot).order_by("id")
    return failing, recovered


def subjects() -> list[str]:
    return ["failing" if "failing" in m.subject else "recovered" for m in mail.outbox]


def test_it_holds_the_recovered_email_until_the_failing_one_is_sent(owner: Party) -> None:
    failing, recovered = outage(owner)
    with pytest.raises(AlertHeldBack):
        alert_send(alert_id=recovered.id)  # the failing alert's task is still retrying
    assert mail.outbox == []
    alert_send(alert_id=failing.id)
    alert_send(alert_id=recovered.id)
    assert subjects() == ["failing", "recovered"]


def test_it_the_task_looks_again_soon_for_a_held_back_alert(owner: Party) -> None:
    _, recovered = outage(owner)
    with pytest.raises(Retry) as caught:
        owner_alert_send_task.apply(args=(recovered.id,))
    assert float(caught.value.when) <= 5  # type: ignore[arg-type]
    assert OwnerAlert.objects.get(id=recovered.id).claimed_at is None  # free for the sweep too


def test_it_a_retry_takes_back_the_claim_its_failed_attempt_could_not_release(owner: Party, settings: Any) -> None:
    failing, _ = outage(owner)
    # The first attempt claimed the alert, then the database went away before it could send or release it.
    OwnerAlert.objects.filter(id=failing.id).update(claimed_at=timezone.now(), claimed_by="task-1")
    assert alert_send(alert_id=failing.id, claimer="task-2") == 0  # another sender waits for the lease
    assert alert_send(alert_id=failing.id, claimer="task-1") == 1  # the retry of the same task sends at once
    assert subjects() == ["failing"]


def test_it_an_alert_whose_send_met_the_database_away_is_retried_and_sent_once(owner: Party) -> None:
    failing, _ = outage(owner)
    with (
        mock.patch("botpresto.notifications.alerts.email_render", side_effect=OperationalError("away")),
        mock.patch("botpresto.notifications.alerts._release", side_effect=OperationalError("still away")),
        pytest.raises(Retry),
    ):
        owner_alert_send_task.apply(args=(failing.id,), task_id="alert-task")
    assert owner_alert_send_task.apply(args=(failing.id,), task_id="alert-task", retries=1).result == 1
    assert subjects() == ["failing"]
