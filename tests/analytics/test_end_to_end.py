"""Telegram (the stand-in) → the proxy under a live server → the owner's endpoint, and the records
the proxy wrote drained into end users, statistics and a local Mixpanel collector, all over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from analytics.models import BotHourlyStats, CohortDay, EndUser
from botpresto.bots import services
from botpresto.devtools.collector import MixpanelCollector
from botpresto.devtools.standin import StandIn
from tests.analytics.conftest import MIXPANEL_TOKEN, drain
from tests.conftest import Party
from tests.proxy.endpoints import Endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
SECRET = "owner-secret_1"
ANA = {"id": 42, "is_bot": False, "first_name": "Ana", "username": "ana", "language_code": "pt-BR"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Ana"}


@pytest.fixture
def proxy_live(live_server: Any, standin: StandIn, settings: Any, proxy_threads: None) -> Any:
    settings.PUBLIC_URL = live_server.url
    settings.PROXY_RETRY_AFTER = 0  # the stand-in retries on its own quick schedule
    settings.PROXY_CONNECT_TIMEOUT, settings.PROXY_READ_TIMEOUT = 0.5, 1.0
    return live_server


def text(words: str) -> dict[str, Any]:
    return {"message": {"message_id": 1, "date": int(time.time()), "chat": PRIVATE, "from": ANA, "text": words}}


def blocked() -> dict[str, Any]:
    member = {"status": "kicked", "user": {"id": 1, "is_bot": True, "first_name": "shop"}}
    return {"my_chat_member": {"chat": PRIVATE, "from": ANA, "date": int(time.time()), "new_chat_member": member}}


def test_it_updates_retried_by_telegram_through_the_proxy_count_once(
    owner: Party, standin: StandIn, proxy_live: Any, collector: MixpanelCollector
) -> None:
    endpoint = Endpoint()
    tg = standin.add_bot(username="shop_bot", webhook_url=endpoint.url, secret_token=SECRET)
    bot = services.bot_create(
        tenant=owner.tenant, token=tg.token, endpoint_secret=SECRET, mixpanel_token=MIXPANEL_TOKEN
    )
    port = endpoint.port
    endpoint.stop()  # the owner's bot is down: Telegram retries
    standin.push_updates(tg.token, [text("/start now"), text("hello")])
    standin.wait_for(lambda: len(standin.delivery_log(tg.token)) >= 3)
    back = Endpoint(port=port)
    try:
        standin.wait_idle(tg.token, timeout=15)
    finally:
        back.stop()
    standin.push_update(tg.token, blocked())
    standin.wait_idle(tg.token)
    drain()

    assert [e["event"] for e in collector.events].count("message") == 2
    row = BotHourlyStats.objects.get(bot=bot)
    assert (row.updates, row.attempts) == (3, len(standin.delivery_log(tg.token)))
    assert row.failures_by_kind.get("connect", 0) >= 1
    assert row.commands == {"start": 1}
    ana = EndUser.objects.get(bot=bot, telegram_id=42)
    assert (ana.language_code, ana.blocked) == ("pt-br", True)
    # The deep link's payload made a campaign; the block counts once; Mixpanel heard of both.
    assert ana.campaign == "now"
    assert (row.blocks, CohortDay.objects.get(bot=bot).campaign) == (1, "now")
    assert [e["event"] for e in collector.events].count("blocked") == 1
    assert collector.profiles[-1]["$set"]["campaign"] == "now"


def test_it_the_forwards_through_telegram_are_in_the_metrics(
    owner: Party, standin: StandIn, proxy_live: Any, settings: Any
) -> None:
    from tests.core.test_metrics import value

    endpoint = Endpoint()
    try:
        tg = standin.add_bot(username="shop_bot", webhook_url=endpoint.url, secret_token=SECRET)
        services.bot_create(tenant=owner.tenant, token=tg.token, endpoint_secret=SECRET)
        delivered = value("botpresto_proxy_forwards_total", outcome="delivered")
        standin.push_updates(tg.token, [text("one"), text("two")])
        standin.wait_idle(tg.token)
    finally:
        endpoint.stop()
    assert value("botpresto_proxy_forwards_total", outcome="delivered") == delivered + 2
