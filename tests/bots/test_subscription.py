"""allowed_updates: subscribed to what the analytics need while the webhook is ours, restored exactly after."""

from __future__ import annotations

from typing import Any

import pytest

from botpresto.bots import services
from botpresto.bots.health import webhook_health_check
from botpresto.bots.models import Bot
from botpresto.bots.subscription import NOT_BY_DEFAULT, subscription_for
from botpresto.bots.switch import maintenance_bot_bypass
from botpresto.core.telegram import telegram
from botpresto.devtools.standin import StandIn
from tests.conftest import Party

pytestmark = pytest.mark.django_db
ORIGINAL = "https://bot.example.com/telegram/hook"


@pytest.fixture(autouse=True)
def _endpoints_need_no_dns(settings: Any) -> None:
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


def tg_bot(standin: StandIn, allowed: list[str] | None) -> Any:
    bot = standin.add_bot(username="shop_bot", webhook_url=ORIGINAL, secret_token="owner-secret_1", max_connections=7)
    if allowed is not None:  # as the owner set it, an empty list included
        telegram.set_webhook(
            bot.token, url=ORIGINAL, secret_token="owner-secret_1", max_connections=7, allowed_updates=allowed
        )
    return bot


def connect(owner: Party, token: str) -> Bot:
    return services.bot_create(tenant=owner.tenant, token=token, endpoint_secret="owner-secret_1")


def restore_calls(standin: StandIn, token: str) -> list[Any]:
    return [call.params for call in standin.calls(token, "setWebhook") if call.params.get("url") == ORIGINAL]


def test_it_subscribes_a_listed_bot_to_my_chat_member_too(owner: Party, standin: StandIn) -> None:
    tg = tg_bot(standin, ["message", "callback_query"])
    connect(owner, tg.token)
    assert standin.bot(tg.token).allowed_updates == ["message", "callback_query", "my_chat_member"]


def test_it_leaves_telegrams_default_alone_when_it_already_sends_my_chat_member(owner: Party, standin: StandIn) -> None:
    tg = tg_bot(standin, None)
    connect(owner, tg.token)
    assert standin.bot(tg.token).allowed_updates is None


def test_it_adds_nothing_to_a_list_that_names_my_chat_member(owner: Party, standin: StandIn) -> None:
    tg = tg_bot(standin, ["my_chat_member", "message"])
    bot = connect(owner, tg.token)
    assert standin.bot(tg.token).allowed_updates == ["my_chat_member", "message"]
    assert bot.original_allowed_updates == ["my_chat_member", "message"]


@pytest.mark.parametrize("leave", ["disconnect", "delete"])
def test_it_restores_the_owners_list_exactly(owner: Party, standin: StandIn, leave: str) -> None:
    tg = tg_bot(standin, ["message", "callback_query"])
    bot = connect(owner, tg.token)
    services.bot_disconnect(bot=bot) if leave == "disconnect" else services.bot_delete(bot=bot)
    state = standin.bot(tg.token)
    assert (state.webhook_url, state.allowed_updates) == (ORIGINAL, ["message", "callback_query"])


@pytest.mark.parametrize("original", [None, []], ids=["absent", "empty"])
@pytest.mark.parametrize("leave", ["disconnect", "delete"])
def test_it_restores_telegrams_default_over_whatever_our_webhook_held(
    owner: Party, standin: StandIn, original: list[str] | None, leave: str
) -> None:
    tg = tg_bot(standin, original)
    bot = connect(owner, tg.token)
    # Our webhook holds a list (as one connected before the default sufficed would): omitting
    # allowed_updates on restore would keep it.
    telegram.set_webhook(tg.token, url=bot.proxy_url, secret_token=str(bot.proxy_secret), allowed_updates=["message"])
    services.bot_disconnect(bot=bot) if leave == "disconnect" else services.bot_delete(bot=bot)
    state = standin.bot(tg.token)
    assert (state.webhook_url, state.allowed_updates) == (ORIGINAL, None)
    assert restore_calls(standin, tg.token)[-1]["allowed_updates"] == []


@pytest.mark.parametrize("original", [["message", "callback_query"], None, []], ids=["listed", "absent", "empty"])
def test_it_a_maintenance_bypass_restores_the_list_exactly(
    owner: Party, standin: StandIn, original: list[str] | None
) -> None:
    tg = tg_bot(standin, original)
    bot = connect(owner, tg.token)
    telegram.set_webhook(tg.token, url=bot.proxy_url, secret_token=str(bot.proxy_secret), allowed_updates=["poll"])
    assert maintenance_bot_bypass(bot=bot).state == "done"
    assert bot.status == Bot.Status.BYPASSED
    assert standin.bot(tg.token).allowed_updates == (original or None)


def test_it_a_reconnect_subscribes_again(owner: Party, standin: StandIn) -> None:
    tg = tg_bot(standin, ["message"])
    bot = connect(owner, tg.token)
    services.bot_disconnect(bot=bot)
    services.bot_reconnect(bot=bot)
    assert standin.bot(tg.token).allowed_updates == ["message", "my_chat_member"]


def test_it_a_bot_that_polled_keeps_its_own_list(owner: Party, standin: StandIn) -> None:
    polling = standin.add_bot(username="poll_bot", allowed_updates=["message"])
    bot = services.bot_create(tenant=owner.tenant, token=polling.token, upstream_url="https://bot.example.com/new")
    assert standin.bot(polling.token).allowed_updates == ["message"]  # deleteWebhook could not give it back
    services.bot_delete(bot=bot)
    assert standin.bot(polling.token).allowed_updates == ["message"]


def test_it_the_health_check_subscribes_a_bot_connected_before(owner: Party, standin: StandIn) -> None:
    tg = tg_bot(standin, ["message"])
    bot = connect(owner, tg.token)
    secret = str(bot.proxy_secret)
    telegram.set_webhook(
        tg.token, url=bot.proxy_url, secret_token=secret, max_connections=7, allowed_updates=["message"]
    )
    assert webhook_health_check(bot=bot) == "ok"
    state = standin.bot(tg.token)
    assert (state.allowed_updates, state.secret_token, state.max_connections) == (
        ["message", "my_chat_member"],
        secret,
        7,
    )


def test_it_the_health_check_leaves_a_subscribed_bot_alone(owner: Party, standin: StandIn) -> None:
    tg = tg_bot(standin, ["message"])
    bot = connect(owner, tg.token)
    calls = len(standin.calls(tg.token, "setWebhook"))
    webhook_health_check(bot=bot)
    assert len(standin.calls(tg.token, "setWebhook")) == calls


def test_it_adopting_a_webhook_set_without_a_list_keeps_the_owners_list(owner: Party, standin: StandIn) -> None:
    tg = tg_bot(standin, ["message"])
    bot = connect(owner, tg.token)
    telegram.set_webhook(tg.token, url="https://bot.example.com/moved")  # no list: Telegram keeps ours
    services.bot_reconnect(bot=bot, adopt_current=True)
    assert bot.original_allowed_updates == ["message"]
    services.bot_disconnect(bot=bot)
    state = standin.bot(tg.token)
    assert (state.webhook_url, state.allowed_updates) == ("https://bot.example.com/moved", ["message"])


def test_it_what_the_analytics_add_is_sent_by_default_so_an_empty_list_needs_nothing() -> None:
    assert subscription_for(original_url=ORIGINAL, original=[]).allowed_updates == []
    assert not subscription_for(original_url=ORIGINAL, original=["message"]).unforwarded & NOT_BY_DEFAULT
    assert subscription_for(original_url=ORIGINAL, original=["message"]).unforwarded == {"my_chat_member"}
