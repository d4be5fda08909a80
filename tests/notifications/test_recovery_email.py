"""The recovery email says what happened to the updates that could not be delivered, in good English."""

from __future__ import annotations

import time

import pytest

from botpresto.bots import states
from tests.conftest import Party, alerts_send
from tests.factories import bot_make

pytestmark = pytest.mark.django_db


def recovery_body(owner: Party, held: int) -> str:
    bot = bot_make(owner.tenant)
    since = time.time() - 60
    states.bot_endpoint_failing(bot=bot, since=since, details={"error": "timeout", "failures": 3})
    states.bot_endpoint_recovered(bot=bot, at=since + 50, held=held)
    body: str = alerts_send()[-1].body
    return " ".join(body.split())


def test_it_words_one_held_update_in_the_singular(owner: Party) -> None:
    body = recovery_body(owner, held=1)
    assert (
        "Telegram held back 1 update that could not be delivered meanwhile, and redelivers it to your endpoint" in body
    )
    assert "them" not in body


def test_it_says_telegram_redelivers_the_held_updates(owner: Party) -> None:
    body = recovery_body(owner, held=3)
    assert "Telegram held back 3 updates that could not be delivered meanwhile, and redelivers them" in body
    assert "is delivering" not in body


def test_it_says_when_no_update_had_to_wait(owner: Party) -> None:
    assert "No update had to wait." in recovery_body(owner, held=0)
