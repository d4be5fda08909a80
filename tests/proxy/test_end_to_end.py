"""The whole path over real HTTP: the stand-in delivers like Telegram, the proxy runs under a live
server, and bot endpoints are built with real frameworks (aiogram, python-telegram-bot)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from analytics import buffer
from botpresto.bots import services
from botpresto.bots.models import Bot
from botpresto.devtools.standin import StandIn
from botpresto.notifications.notices import DEFAULT_NOTICES
from proxy.outbox import outbox
from proxy.recorder import recorder
from tests.conftest import Party
from tests.proxy.endpoints import Endpoint, Reply
from tests.proxy.frameworks import aiogram_endpoint, ptb_endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
SECRET = "owner-secret_1"


@pytest.fixture
def proxy_live(live_server: Any, standin: StandIn, settings: Any, proxy_threads: None) -> Any:
    settings.PUBLIC_URL = live_server.url
    settings.PROXY_RETRY_AFTER = 0  # let the stand-in retry on its own quick schedule
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return live_server


def message(chat_id: int, text: str, language: str = "en") -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": language}
    chat = {"id": chat_id, "type": "private", "first_name": "Ana"}
    return {"message": {"message_id": 1, "date": int(time.time()), "chat": chat, "from": user, "text": text}}


def connect(owner: Party, token: str) -> Bot:
    return services.bot_create(tenant=owner.tenant, token=token, endpoint_secret=SECRET)


def attempts(standin: StandIn, token: str) -> list[Any]:
    return standin.delivery_log(token)


# --- frameworks ---------------------------------------------------------------------------
def test_it_an_aiogram_reply_reaches_telegram_and_is_executed(owner: Party, standin: StandIn, proxy_live: Any) -> None:
    tg = standin.add_bot(username="aio_bot")
    with aiogram_endpoint(standin.url, tg.token, SECRET) as endpoint:
        bot = connect(owner, tg.token)
        assert standin.bot(tg.token).webhook_url == bot.proxy_url
        standin.push_update(tg.token, message(42, "hello"))
        standin.wait_idle(tg.token)
    [call] = standin.calls(tg.token, "sendMessage")
    assert (call.source, call.params["text"], int(call.params["chat_id"])) == ("webhook_reply", "echo: hello", 42)
    [attempt] = attempts(standin, tg.token)
    assert attempt.content_type.startswith("multipart/form-data; boundary=")
    assert len(endpoint["bodies"]) == 1


def test_it_python_telegram_bot_accepts_what_the_proxy_forwards(
    owner: Party, standin: StandIn, proxy_live: Any
) -> None:
    tg = standin.add_bot(username="ptb_bot")
    with ptb_endpoint(standin.url, tg.token, SECRET) as endpoint:
        connect(owner, tg.token)
        standin.push_update(tg.token, message(42, "hola"))
        standin.wait_idle(tg.token)
        standin.wait_for(lambda: bool(standin.calls(tg.token, "sendMessage")))
    assert endpoint["texts"] == ["hola"]  # its checks of content type and secret passed
    assert standin.calls(tg.token, "sendMessage")[0].params["text"] == "ptb: hola"


# --- bytes --------------------------------------------------------------------------------
@pytest.fixture
def raw_bot(owner: Party, standin: StandIn, proxy_live: Any, endpoint: Endpoint) -> tuple[Any, Bot]:
    tg = standin.add_bot(username="raw_bot", webhook_url=endpoint.url, secret_token=SECRET)
    return tg, connect(owner, tg.token)


def test_it_bytes_in_equal_bytes_out_both_ways(standin: StandIn, raw_bot: tuple[Any, Bot], endpoint: Endpoint) -> None:
    tg, _ = raw_bot
    reply = b'{"method":"sendMessage","chat_id":42,"text":"\xc3\xa9t\xc3\xa9 \xf0\x9f\x8c\x9e"}'
    endpoint.reply = Reply(200, reply, {"Content-Type": "application/json; charset=utf-8"})
    standin.push_update(tg.token, message(42, "caf\u00e9 \u2615"))
    standin.wait_idle(tg.token)
    [attempt] = attempts(standin, tg.token)
    from botpresto.devtools.standin.wire import compact_json

    assert endpoint.received[0].body == compact_json(standin.bot(tg.token).delivered[0])
    assert (attempt.body, attempt.content_type) == (reply, "application/json; charset=utf-8")
    assert standin.calls(tg.token, "sendMessage")[0].params["text"] == "\u00e9t\u00e9 \U0001f31e"


def test_it_a_wrong_secret_is_refused_and_not_forwarded(raw_bot: tuple[Any, Bot], endpoint: Endpoint) -> None:
    _, bot = raw_bot
    response = requests.post(
        bot.proxy_url, data=b'{"update_id":1}', headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}, timeout=5
    )
    assert response.status_code == 401
    assert endpoint.received == []


# --- outages ------------------------------------------------------------------------------
def test_it_an_outage_loses_nothing_and_the_user_is_told_once_in_their_language(
    standin: StandIn, raw_bot: tuple[Any, Bot], endpoint: Endpoint
) -> None:
    tg, _ = raw_bot
    port = endpoint.port
    endpoint.stop()  # connection refused from now on
    ids = standin.push_updates(tg.token, [message(42, f"m{n}", language="ru") for n in range(3)])
    standin.wait_for(lambda: len(attempts(standin, tg.token)) >= 4)  # Telegram keeps retrying
    assert {a.status for a in attempts(standin, tg.token)} == {502}
    standin.wait_for(lambda: bool(standin.calls(tg.token, "sendMessage")))
    notices = standin.calls(tg.token, "sendMessage")
    assert [(c.params["text"], int(c.params["chat_id"])) for c in notices] == [(DEFAULT_NOTICES["ru"], 42)]

    back = Endpoint(port=port)
    try:
        standin.wait_idle(tg.token, timeout=15)
        assert [r.body.count(b'"update_id"') for r in back.received] == [1, 1, 1]
        assert [int(r.body.split(b'"update_id":')[1].split(b",")[0]) for r in back.received] == ids
    finally:
        back.stop()
    outbox.flush()
    assert len(standin.calls(tg.token, "sendMessage")) == 1


def test_it_a_410_never_reaches_telegram(owner: Party, proxy_live: Any, endpoint: Endpoint, settings: Any) -> None:
    standin = StandIn(retry_base_delay=0.02, retry_max_delay=0.05, gone_after=0.2).start()
    settings.TELEGRAM_API_URL = standin.url
    try:
        tg = standin.add_bot(username="gone_bot", webhook_url=endpoint.url, secret_token=SECRET)
        bot = connect(owner, tg.token)
        endpoint.reply = Reply(410)
        standin.push_update(tg.token, message(42, "hi"))
        standin.wait_for(lambda: len(attempts(standin, tg.token)) >= 10)
        assert 410 not in {a.status for a in attempts(standin, tg.token)}
        assert standin.bot(tg.token).webhook_url == bot.proxy_url  # Telegram kept the webhook
    finally:
        standin.stop()


def test_it_a_hanging_endpoint_does_not_block_another_bot(
    owner: Party, standin: StandIn, proxy_live: Any, settings: Any
) -> None:
    settings.PROXY_READ_TIMEOUT = 5
    settings.PROXY_MAX_IN_FLIGHT_PER_BOT = 2
    hanging, healthy = Endpoint(), Endpoint()
    hanging.reply = Reply(200, delay=30)
    try:
        slow_tg = standin.add_bot(username="slow_bot", webhook_url=hanging.url, secret_token=SECRET)
        fast_tg = standin.add_bot(username="fast_bot", webhook_url=healthy.url, secret_token=SECRET)
        connect(owner, slow_tg.token)
        connect(owner, fast_tg.token)
        standin.push_updates(slow_tg.token, [message(chat, "hang") for chat in range(1, 7)])
        hanging.wait_for(2)
        started = time.monotonic()
        standin.push_updates(fast_tg.token, [message(chat, "quick") for chat in range(1, 4)])
        standin.wait_idle(fast_tg.token, timeout=4)
        assert time.monotonic() - started < 3  # blocked behind the hanging bot it would take 5 s
        # Past the cap the hanging bot's updates are refused at once, not queued behind it.
        standin.wait_for(lambda: any(a.status == 503 for a in attempts(standin, slow_tg.token)), timeout=3)
        assert len(hanging.received) == 2
    finally:
        hanging.stop()
        healthy.stop()


def test_it_updates_still_flow_with_redis_stopped(
    standin: StandIn, raw_bot: tuple[Any, Bot], endpoint: Endpoint, settings: Any
) -> None:
    from tests.proxy.endpoints import closed_port

    tg, _ = raw_bot
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    buffer._client = None
    lost = buffer.lost_count()
    standin.push_updates(tg.token, [message(42, "a"), message(43, "b")])
    standin.wait_idle(tg.token)
    assert len(endpoint.received) == 2
    recorder.flush()
    assert buffer.lost_count() == lost + 2
    buffer._client = None
