""" "We're back": users told the bot was down hear once, per outage and chat, that it works again."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from botpresto.bots.models import Bot
from botpresto.devtools.standin import StandIn
from botpresto.notifications.back import BACK_DEFAULTS, back_claim
from botpresto.notifications.notices import DEFAULT_NOTICES, NoticeTarget, notice_send, notice_text
from proxy.routes import table
from tests.conftest import Party
from tests.factories import bot_make
from tests.proxy.conftest import OWNER_SECRET, UPDATE, post
from tests.proxy.endpoints import Endpoint, Reply

pytestmark = pytest.mark.django_db
LANGUAGES = ["en", "ru", "es", "pt", "de", "fr", "it", "uk", "tr", "fa", "ar", "id", "hi"]


@pytest.fixture
def tg(standin: StandIn) -> Any:
    state = standin.add_bot(username="shop_bot")
    standin.add_chat(state.token, {"id": 42, "type": "private"})
    return state


@pytest.fixture
def bot(owner: Party, tg: Any, endpoint: Endpoint, settings: Any) -> Bot:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return bot_make(
        owner.tenant,
        token=tg.token,
        telegram_id=tg.id,
        username="shop_bot",
        upstream_url=endpoint.url,
        endpoint_secret=OWNER_SECRET,
        back_enabled=True,
    )


def sent(standin: StandIn, tg: Any) -> list[tuple[int, str]]:
    calls = standin.calls(tg.token, "sendMessage")
    return [(int(c.params["chat_id"]), c.params["text"]) for c in calls if c.error_code is None]


def tell(bot: Bot, chat_id: int = 42, language: str = "pt-BR") -> str:
    target = NoticeTarget("sendMessage", chat_id, language, back_chat=chat_id)
    return notice_send(bot_id=bot.id, target=target, failed_at=time.time())


def test_it_there_is_a_default_in_each_language_of_the_notices() -> None:
    assert set(BACK_DEFAULTS) == set(DEFAULT_NOTICES) >= set(LANGUAGES)
    assert len(set(BACK_DEFAULTS.values())) == len(BACK_DEFAULTS)


def test_it_a_told_chat_is_owed_one_message(bot: Bot) -> None:
    assert tell(bot) == "sent"
    assert back_claim(bot_id=bot.id, chat_id=42) == "pt-BR"
    assert back_claim(bot_id=bot.id, chat_id=42) is None


def test_it_telling_a_user_marks_the_bot_for_the_proxy(bot: Bot) -> None:
    tell(bot)
    bot.refresh_from_db()
    assert bot.users_told_at is not None
    table.reset()
    assert table.get(str(bot.uuid)).back_until > time.time()  # type: ignore[union-attr]


def test_it_nothing_is_owed_when_it_is_off(bot: Bot) -> None:
    Bot.objects.filter(id=bot.id).update(back_enabled=False)
    tell(bot)
    assert back_claim(bot_id=bot.id, chat_id=42) is None


def test_it_the_proxy_says_it_is_back_once_when_an_update_goes_through(
    client: Client, standin: StandIn, tg: Any, bot: Bot
) -> None:
    tell(bot)
    table.reset()
    post(client, bot, UPDATE)  # from chat 42
    post(client, bot, UPDATE)
    assert sent(standin, tg) == [(42, DEFAULT_NOTICES["pt"]), (42, BACK_DEFAULTS["pt"])]


def test_it_the_owners_text_wins(client: Client, standin: StandIn, tg: Any, bot: Bot) -> None:
    Bot.objects.filter(id=bot.id).update(back_texts={"pt": "Voltamos!"})
    tell(bot)
    table.reset()
    post(client, bot, UPDATE)
    assert sent(standin, tg)[-1] == (42, "Voltamos!")


def test_it_a_failed_update_says_nothing(
    client: Client, standin: StandIn, tg: Any, bot: Bot, endpoint: Endpoint
) -> None:
    tell(bot)
    table.reset()
    endpoint.reply = Reply(500)
    post(client, bot, UPDATE)
    assert len(sent(standin, tg)) == 1  # the notice only


def test_it_a_chat_nobody_told_hears_nothing(client: Client, standin: StandIn, tg: Any, bot: Bot) -> None:
    standin.add_chat(tg.token, {"id": 43, "type": "private"})
    tell(bot, chat_id=43)
    table.reset()
    post(client, bot, UPDATE)  # from chat 42
    assert len(sent(standin, tg)) == 1


def test_it_a_user_who_blocked_the_bot_is_not_written_to(client: Client, standin: StandIn, tg: Any, bot: Bot) -> None:
    tell(bot)
    table.reset()
    standin.block_chat(tg.token, 42)
    post(client, bot, UPDATE)
    calls = standin.calls(tg.token, "sendMessage")
    assert [c.error_code for c in calls] == [None, 403]


def test_it_a_language_without_an_owner_text_falls_back_like_the_notices() -> None:
    text = notice_text(language="ja", owner_texts={"es": "¡Volvimos!"}, default_language="es", defaults=BACK_DEFAULTS)
    assert text == "¡Volvimos!"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_through_telegram_each_outage_ends_with_one_message_per_told_chat(
    owner: Party, standin: StandIn, live_server: Any, settings: Any, proxy_threads: None
) -> None:
    from botpresto.bots import services

    settings.PUBLIC_URL = live_server.url
    settings.PROXY_RETRY_AFTER = 0
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.NOTICE_COOLDOWN_SECONDS = 0
    endpoint = Endpoint()
    try:
        tg = standin.add_bot(username="back_bot", webhook_url=endpoint.url, secret_token=OWNER_SECRET)
        bot = services.bot_create(tenant=owner.tenant, token=tg.token, endpoint_secret=OWNER_SECRET)
        services.bot_update(bot=bot, data={"back_enabled": True})

        def count(texts: dict[str, str]) -> int:
            return len([text for _, text in sent(standin, tg) if text in texts.values()])

        for outage in range(2):
            endpoint.reply = Reply(502)
            standin.push_updates(tg.token, [_message(42, "de"), _message(42, "de"), _message(7, "en")])
            told = 2 * (outage + 1)
            standin.wait_for(lambda: count(DEFAULT_NOTICES) >= told)  # noqa: B023 - used before the loop moves on
            endpoint.reply = Reply(200)
            standin.wait_idle(tg.token, timeout=15)
            standin.wait_for(lambda: count(BACK_DEFAULTS) >= told)  # noqa: B023
        time.sleep(0.5)  # nothing more arrives
        back = sorted((chat, text) for chat, text in sent(standin, tg) if text in BACK_DEFAULTS.values())
        assert back == [(7, BACK_DEFAULTS["en"])] * 2 + [(42, BACK_DEFAULTS["de"])] * 2
    finally:
        endpoint.stop()


def _message(chat_id: int, language: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": language}
    chat = {"id": chat_id, "type": "private"}
    return {"message": {"message_id": 1, "date": int(time.time()), "chat": chat, "from": user, "text": "hi"}}


def test_it_the_api_turns_it_on_and_shows_it(owner: Party, bot: Bot) -> None:
    Bot.objects.filter(id=bot.id).update(back_enabled=False)
    response = owner.api().patch(
        f"/api/v1/bots/{bot.uuid}/", {"back_enabled": True, "back_texts": {"es": "¡Volvimos!"}}, format="json"
    )
    assert response.json()["back_enabled"] is True
    bot.refresh_from_db()
    assert bot.back_texts == {"es": "¡Volvimos!"}
