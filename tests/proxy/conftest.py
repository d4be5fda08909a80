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
    for singleton in (routes.table, guards.in_flight, after.health, outbox, recorder):
        singleton.reset()
    buffer._client = None
    yield
    routes.table.reset()
    outbox.reset()
    recorder.reset()
    buffer._client = None
    buffer._last_loss_log = 0.0  # the buffer logs a loss once per ten seconds: leave it ready to log


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.stop()


def post(client: Client, bot: Bot, body: bytes = UPDATE, secret: str | None = None, **extra: Any) -> Any:
    """POST an update as Telegram would; the side work the answer leaves behind is done on return."""
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": str(bot.proxy_secret) if secret is None else secret}
    headers.update(extra)
    content_type = extra.pop("content_type", "application/json")
    headers.pop("content_type", None)
    response = client.post(f"/proxy/bot/{bot.uuid}", data=body, content_type=content_type, **headers)
    outbox.drain()  # no server thread here: the test thread (which sees the test's rows) does it
    recorder.flush()
    return response
