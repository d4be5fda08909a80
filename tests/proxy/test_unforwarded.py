"""Update types only the analytics asked for: answered 200 and recorded by the proxy, never forwarded."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from analytics import buffer
from analytics.models import EndUser
from analytics.services import records_drain
from botpresto.bots import services
from botpresto.bots.models import Bot
from botpresto.devtools.standin import StandIn
from proxy.after import health
from proxy.recorder import recorder
from tests.conftest import Party
from tests.factories import bot_make
from tests.proxy.conftest import OWNER_SECRET, UPDATE, post
from tests.proxy.endpoints import Endpoint, Reply

pytestmark = pytest.mark.django_db


def blocked_by(user_id: int, status: str = "kicked", update_id: int = 2001) -> bytes:
    member = {"user": {"id": 99, "is_bot": True, "first_name": "Bot"}, "status": status}
    update = {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Ana"},
            "date": int(time.time()),
            "old_chat_member": {**member, "status": "member"},
            "new_chat_member": member,
        },
    }
    return json.dumps(update).encode()


@pytest.fixture
def bot(owner: Party, endpoint: Endpoint) -> Bot:
    return bot_make(
        owner.tenant, upstream_url=endpoint.url, endpoint_secret=OWNER_SECRET, original_allowed_updates=["message"]
    )


def test_it_answers_200_without_forwarding_a_type_the_owner_did_not_ask_for(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    response = post(client, bot, blocked_by(42))
    assert (response.status_code, response.content) == (200, b"")
    assert endpoint.received == []


def test_it_records_what_it_did_not_forward(client: Client, bot: Bot) -> None:
    post(client, bot, blocked_by(42))
    [record] = buffer.records_pop(10)
    assert record["update"]["type"] == "my_chat_member"
    assert record["outcome"]["filtered"] is True


def test_it_forwards_what_the_owner_asked_for(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    post(client, bot, UPDATE)
    assert [r.body for r in endpoint.received] == [UPDATE]


def test_it_forwards_a_message_that_only_mentions_the_type(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    body = json.dumps({"update_id": 5, "message": {"text": '"my_chat_member"', "chat": {"id": 1}}}).encode()
    post(client, bot, body)
    assert len(endpoint.received) == 1


def test_it_forwards_every_type_to_a_bot_on_telegrams_default(owner: Party, client: Client, endpoint: Endpoint) -> None:
    default = bot_make(owner.tenant, upstream_url=endpoint.url, original_allowed_updates=None)
    post(client, default, blocked_by(42))
    assert len(endpoint.received) == 1


def test_it_forwards_every_type_of_a_manual_bot(owner: Party, client: Client, endpoint: Endpoint) -> None:
    manual = bot_make(
        owner.tenant, mode=Bot.Mode.MANUAL, token=None, upstream_url=endpoint.url, original_allowed_updates=["message"]
    )
    post(client, manual, blocked_by(42))
    assert len(endpoint.received) == 1


def test_it_a_filtered_update_does_not_end_a_failure_streak(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    endpoint.reply = Reply(500)
    post(client, bot, UPDATE)
    assert bot.id in health.failing
    post(client, bot, blocked_by(42))
    assert bot.id in health.failing


def test_it_the_filtered_update_counts_as_an_update_not_as_a_delivery(client: Client, bot: Bot) -> None:
    post(client, bot, blocked_by(42))
    records_drain(seconds=5)
    from analytics.models import BotHourlyStats

    row = BotHourlyStats.objects.get(bot=bot)
    assert (row.updates, row.attempts, row.by_type) == (1, 0, {"my_chat_member": 1})


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_through_telegram_a_block_is_kept_and_only_messages_reach_the_endpoint(
    owner: Party, standin: StandIn, live_server: Any, settings: Any, proxy_threads: None
) -> None:
    settings.PUBLIC_URL = live_server.url
    endpoint = Endpoint()
    try:
        tg = standin.add_bot(username="shop_bot", webhook_url=endpoint.url, allowed_updates=["message"])
        bot = services.bot_create(tenant=owner.tenant, token=tg.token)
        hello = {"message": {"message_id": 1, "date": int(time.time()), "text": "hi", **_chat(42)}}
        block = json.loads(blocked_by(42))
        del block["update_id"]  # the stand-in numbers them
        standin.push_updates(tg.token, [hello, block])
        standin.wait_idle(tg.token)
        assert [a.status for a in standin.delivery_log(tg.token)] == [200, 200]
        assert [json.loads(r.body).keys() - {"update_id"} for r in endpoint.received] == [{"message"}]
        recorder.flush()
        records_drain(seconds=5)
        assert EndUser.objects.get(bot=bot, telegram_id=42).blocked is True
    finally:
        endpoint.stop()


def _chat(user_id: int) -> dict[str, Any]:
    return {
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Ana"},
    }
