from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from analytics import buffer
from botpresto.bots.models import Bot
from proxy import after, guards, routes
from proxy.outbox import outbox
from proxy.recorder import recorder
from tests.proxy.endpoints import Endpoint

OWNER_SECRET = "owner-secret_1"
UPDATE = (
    b'{"update_id":1001,"message":{"message_id":5,"date":1767000000,'
    b'"chat":{"id":42,"type":"private"},"from":{"id":42,"is_bot":false,"first_name":"Ana",'
    b'"language_code":"pt-BR"},"text":"ol\\u00e1 \\ud83d\\udc4b"}}'
)


@pytest.fixture(autouse=True)
def _proxy_settings(settings: Any) -> Iterator[None]:
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    settings.PROXY_CONNECT_TIMEOUT = 0.5
    settings.PROXY_READ_TIMEOUT = 1.0
    settings.PROXY_RETRY_AFTER = 7
    routes.table.reset()
    guards.in_flight._counts.clear()
    after.health.__init__()  # type: ignore[misc]
    outbox.synchronous = True
    outbox._paused_until = 0.0
    recorder.synchronous = True
    buffer._client = None
    yield
    routes.table.reset()
    outbox.synchronous = False
    recorder.synchronous = False
    buffer._client = None
    buffer._last_loss_log = 0.0  # the buffer logs a loss once per ten seconds: leave it ready to log


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.stop()


def post(client: Client, bot: Bot, body: bytes = UPDATE, secret: str | None = None, **extra: Any) -> Any:
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": str(bot.proxy_secret) if secret is None else secret}
    headers.update(extra)
    content_type = extra.pop("content_type", "application/json")
    headers.pop("content_type", None)
    return client.post(f"/proxy/bot/{bot.uuid}", data=body, content_type=content_type, **headers)
