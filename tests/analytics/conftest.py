"""The analytics pipeline as the proxy feeds it: records pushed to the buffer, drained by the task."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from analytics import buffer
from analytics.extract import update_metadata
from analytics.tasks import analytics_drain_task, analytics_mixpanel_send_task
from botpresto.bots.models import Bot
from botpresto.devtools.collector import MixpanelCollector
from proxy.recorder import recorder
from tests.conftest import Party
from tests.factories import bot_make

MIXPANEL_TOKEN = "mp-project-token-0123456789"
NOW = time.time()


@pytest.fixture(autouse=True)
def _fresh_pipeline(settings: Settings) -> Iterator[None]:
    settings.MIXPANEL_API_URL = "http://127.0.0.1:9"  # nothing listens: tests never reach the real Mixpanel
    buffer._client = None
    buffer.buffer_clear()
    buffer._lost_unreported = 0
    yield
    buffer.buffer_clear()
    buffer._client = None


@pytest.fixture
def collector(settings: Settings) -> Iterator[MixpanelCollector]:
    with MixpanelCollector() as running:
        settings.MIXPANEL_API_URL = running.url
        settings.ANALYTICS_MIXPANEL_TIMEOUT = 0.5
        yield running


@pytest.fixture
def bot(owner: Party) -> Bot:
    return bot_make(owner.tenant, username="shop_bot", mixpanel_token=MIXPANEL_TOKEN)


@pytest.fixture
def bot_without_mixpanel(owner: Party) -> Bot:
    return bot_make(owner.tenant, username="quiet_bot")


def record(
    bot: Bot,
    update: Any,
    *,
    status: int = 200,
    upstream_status: int | None = 200,
    error: str | None = None,
    latency_ms: float = 12.0,
    received_at: float | None = None,
) -> dict[str, Any]:
    """What the proxy pushes for one delivery attempt."""
    meta = update_metadata(update, bot_id=bot.telegram_id, bot_username=bot.username)
    return {
        "bot": str(bot.uuid),
        "received_at": NOW if received_at is None else received_at,
        "outcome": {"status": status, "upstream_status": upstream_status, "latency_ms": latency_ms, "error": error},
        "update": meta,
        "malformed": meta is None,
    }


Push = Callable[..., None]


@pytest.fixture
def push() -> Push:
    def push(bot: Bot, update: Any, **outcome: Any) -> None:
        assert buffer.record_push(record(bot, update, **outcome))

    return push


def drain() -> None:
    """Run the drain task, then the Mixpanel sender, in this process, as workers would."""
    recorder.flush()  # what the proxy gathered reaches the buffer first
    analytics_drain_task.apply().get()
    assert buffer.buffer_length() == 0
    analytics_mixpanel_send_task.apply().get()


def message(update_id: int, user: dict[str, Any], *, text: str = "hello", chat: dict[str, Any] | None = None) -> dict:
    chat = chat or {"id": user["id"], "type": "private"}
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": int(NOW) - 60, "from": user, "chat": chat, "text": text},
    }
