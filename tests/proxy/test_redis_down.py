"""With Redis down, updates still flow; what could not be written is counted, not raised."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from analytics import buffer
from botpresto.bots.models import Bot
from proxy.outbox import outbox
from tests.factories import bot_make
from tests.proxy.conftest import post
from tests.proxy.endpoints import Endpoint, Reply, closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings: Any) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    buffer._client = None


@pytest.fixture
def bot(owner, endpoint: Endpoint) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, upstream_url=endpoint.url)


def test_it_updates_are_forwarded_and_the_lost_record_counted(
    client: Client, bot: Bot, endpoint: Endpoint, redis_down: None
) -> None:
    lost = buffer.lost_count()
    assert post(client, bot).status_code == 200
    assert len(endpoint.received) == 1
    assert buffer.lost_count() == lost + 1


def test_it_a_failure_is_still_answered_for_a_retry_and_its_side_work_is_counted_lost(
    client: Client, bot: Bot, endpoint: Endpoint, redis_down: None
) -> None:
    endpoint.reply = Reply(500)
    dropped = outbox.dropped
    started = time.monotonic()
    response = post(client, bot)
    assert (response.status_code, response["Retry-After"]) == (502, "7")
    assert time.monotonic() - started < 1.0
    assert outbox.dropped == dropped + 1
