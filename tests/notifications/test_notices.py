from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from botpresto.bots.models import Bot
from botpresto.core.telegram import RateLimited
from botpresto.devtools.standin import StandIn
from botpresto.notifications.notices import (
    DEFAULT_NOTICES,
    NoticeTarget,
    delivered_mark,
    notice_send,
    notice_target,
    notice_text,
)
from botpresto.notifications.tasks import notice_send_task
from tests.conftest import alerts_send
from tests.factories import bot_make

LANGUAGES = ["en", "ru", "es", "pt", "de", "fr", "it", "uk", "tr", "fa", "ar", "id", "hi"]


def _message(chat_type: str = "private", addressed: bool = True, language: str = "de") -> dict[str, Any]:
    return {
        "update_id": 1,
        "type": "message",
        "chat": {"id": -100 if chat_type != "private" else 42, "type": chat_type},
        "user": {"id": 42, "is_bot": False, "language_code": language},
        "addressed": addressed,
    }


# --- which notice ------------------------------------------------------------------------
def test_it_a_private_message_gets_a_message() -> None:
    assert notice_target(_message()) == NoticeTarget("sendMessage", 42, "de", back_chat=42)


def test_it_a_group_message_addressed_to_the_bot_gets_a_message_in_the_group() -> None:
    assert notice_target(_message("supergroup", addressed=True)) == NoticeTarget(
        "sendMessage", -100, "de", back_chat=-100
    )


def test_it_a_group_message_not_addressed_to_the_bot_gets_nothing() -> None:
    assert notice_target(_message("group", addressed=False)) is None


def test_it_a_button_press_gets_a_callback_answer() -> None:
    meta = {"type": "callback_query", "callback_query_id": "77", "user": {"id": 42}, "chat": {"id": 42}}
    assert notice_target(meta) == NoticeTarget("answerCallbackQuery", 42, "", "77")


def test_it_an_inline_query_gets_an_empty_answer() -> None:
    meta = {"type": "inline_query", "inline_query_id": "99", "user": {"id": 42, "language_code": "es"}}
    assert notice_target(meta) == NoticeTarget("answerInlineQuery", 42, "es", "99")


@pytest.mark.parametrize("kind", ["channel_post", "my_chat_member", "message_reaction", "poll", "edited_message"])
def test_it_other_updates_get_nothing(kind: str) -> None:
    assert notice_target({**_message(), "type": kind}) is None


# --- in which language -------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_it_there_is_a_default_notice_in_each_language(language: str) -> None:
    assert notice_text(language=language, owner_texts={}, default_language="en") == DEFAULT_NOTICES[language]


def test_it_the_defaults_are_distinct_translations() -> None:
    assert len(set(DEFAULT_NOTICES.values())) == len(DEFAULT_NOTICES) >= 13


def test_it_a_regional_tag_uses_its_language() -> None:
    assert notice_text(language="pt-BR", owner_texts={}, default_language="en") == DEFAULT_NOTICES["pt"]


def test_it_the_owners_text_wins_for_its_language() -> None:
    texts = {"de": "Kurz weg!"}
    assert notice_text(language="de-AT", owner_texts=texts, default_language="en") == "Kurz weg!"


def test_it_an_unknown_language_falls_back_to_the_owners_default() -> None:
    texts = {"es": "Volvemos pronto"}
    assert notice_text(language="ja", owner_texts=texts, default_language="es") == "Volvemos pronto"


def test_it_no_language_at_all_falls_back_to_the_owners_default_in_our_words() -> None:
    assert notice_text(language="", owner_texts={}, default_language="fr") == DEFAULT_NOTICES["fr"]


# --- sending (against the stand-in) --------------------------------------------------------
@pytest.fixture
def tg(standin: StandIn) -> Any:
    state = standin.add_bot(username="shop_bot")
    standin.add_chat(state.token, {"id": 42, "type": "private"})
    return state


@pytest.fixture
def bot(owner, tg: Any) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, token=tg.token, telegram_id=tg.id, username="shop_bot")


def _sent(standin: StandIn, tg: Any, method: str = "sendMessage") -> list[Any]:
    return [call for call in standin.calls(tg.token, method) if call.error_code is None]


@pytest.mark.django_db
def test_it_tells_the_user_in_their_language(standin: StandIn, tg: Any, bot: Bot) -> None:
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "uk"), failed_at=time.time()) == "sent"
    [call] = _sent(standin, tg)
    assert (int(call.params["chat_id"]), call.params["text"]) == (42, DEFAULT_NOTICES["uk"])


@pytest.mark.django_db
def test_it_uses_the_owners_text(standin: StandIn, tg: Any, bot: Bot) -> None:
    bot.notice_texts = {"en": "Back in 5 minutes, promise."}
    bot.save()
    notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en-GB"), failed_at=time.time())
    assert _sent(standin, tg)[0].params["text"] == "Back in 5 minutes, promise."


@pytest.mark.django_db
def test_it_answers_a_button_press_with_the_notice(standin: StandIn, tg: Any, bot: Bot) -> None:
    notice_send(bot_id=bot.id, target=NoticeTarget("answerCallbackQuery", 42, "it", "cb-1"), failed_at=time.time())
    [call] = _sent(standin, tg, "answerCallbackQuery")
    assert (call.params["callback_query_id"], call.params["text"]) == ("cb-1", DEFAULT_NOTICES["it"])


@pytest.mark.django_db
def test_it_answers_an_inline_query_with_no_results_and_the_notice(standin: StandIn, tg: Any, bot: Bot) -> None:
    notice_send(bot_id=bot.id, target=NoticeTarget("answerInlineQuery", 42, "tr", "iq-1"), failed_at=time.time())
    [call] = _sent(standin, tg, "answerInlineQuery")
    assert (call.params["inline_query_id"], call.params["results"]) == ("iq-1", [])
    assert call.params["button"]["text"] == DEFAULT_NOTICES["tr"]


@pytest.mark.django_db
def test_it_a_chat_is_told_once_per_cooldown(standin: StandIn, tg: Any, bot: Bot) -> None:
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=time.time()) == "sent"
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=time.time()) == "cooldown"
    assert len(_sent(standin, tg)) == 1


@pytest.mark.django_db
def test_it_owners_can_turn_notices_off(standin: StandIn, tg: Any, bot: Bot) -> None:
    bot.notices_enabled = False
    bot.save()
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=time.time()) == "off"
    assert standin.calls(tg.token, "sendMessage") == []


@pytest.mark.django_db
def test_it_a_manual_mode_bot_sends_no_notice(owner, standin: StandIn) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, token=None, telegram_id=None)
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=time.time()) == "off"


@pytest.mark.django_db
def test_it_a_user_who_blocked_the_bot_is_not_asked_again(standin: StandIn, tg: Any, bot: Bot, settings: Any) -> None:
    settings.NOTICE_COOLDOWN_SECONDS = 0
    standin.block_chat(tg.token, 42)
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=time.time()) == "refused"
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=time.time()) == "blocked"
    assert len(standin.calls(tg.token, "sendMessage")) == 1


@pytest.mark.django_db
def test_it_a_revoked_token_marks_the_bot_and_asks_the_owner_for_a_new_one(standin: StandIn, tg: Any, bot: Bot) -> None:
    standin.revoke(tg.token)
    target = NoticeTarget("sendMessage", 42, "en").as_json()
    assert notice_send_task.apply(args=(bot.id, target, time.time())).result == "token_revoked"
    bot.refresh_from_db()
    assert bot.status == Bot.Status.TOKEN_REVOKED
    [email] = alerts_send()
    assert "Paste the current token" in email.body


@pytest.mark.django_db
def test_it_a_notice_is_not_sent_once_the_bot_delivered_again(standin: StandIn, tg: Any, bot: Bot) -> None:
    failed_at = time.time()
    delivered_mark(bot_id=bot.id, at=failed_at + 1)  # a later update went through before the notice left
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=failed_at) == "stale"
    assert _sent(standin, tg) == []


@pytest.mark.django_db
def test_it_a_notice_is_not_sent_once_the_endpoint_recovered(standin: StandIn, tg: Any, bot: Bot) -> None:
    failed_at = time.time()
    Bot.objects.filter(id=bot.id).update(endpoint_recovered_at=datetime.fromtimestamp(failed_at + 5, tz=UTC))
    assert notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=failed_at) == "stale"
    assert _sent(standin, tg) == []


@pytest.mark.django_db
def test_it_a_rate_limit_is_raised_for_a_later_retry(standin: StandIn, tg: Any, bot: Bot) -> None:
    standin.rate_limit(tg.token, "sendMessage", retry_after=3)
    with pytest.raises(RateLimited) as caught:
        notice_send(bot_id=bot.id, target=NoticeTarget("sendMessage", 42, "en"), failed_at=time.time())
    assert caught.value.retry_after == 3


@pytest.mark.django_db
def test_it_the_task_asks_to_be_retried_after_the_rate_limit(standin: StandIn, tg: Any, bot: Bot) -> None:
    from celery.exceptions import Retry

    standin.rate_limit(tg.token, "sendMessage", retry_after=9)
    with pytest.raises(Retry) as caught:
        notice_send_task.apply(args=(bot.id, NoticeTarget("sendMessage", 42, "en").as_json(), time.time()))
    assert caught.value.when == 9


@pytest.mark.django_db
def test_it_a_retried_notice_is_sent_although_it_took_the_cooldown_itself(standin: StandIn, tg: Any, bot: Bot) -> None:
    from celery.exceptions import Retry

    target, failed_at = NoticeTarget("sendMessage", 42, "en").as_json(), time.time()
    standin.rate_limit(tg.token, "sendMessage", retry_after=1)
    with pytest.raises(Retry):
        notice_send_task.apply(args=(bot.id, target, failed_at))
    assert notice_send_task.apply(args=(bot.id, target, failed_at), retries=1).result == "sent"
    assert len(_sent(standin, tg)) == 1


@pytest.mark.django_db
def test_it_retries_a_notice_while_the_database_is_away_and_skips_it_once_the_bot_recovered(
    standin: StandIn, tg: Any, bot: Bot
) -> None:
    from unittest import mock

    from celery.exceptions import Retry
    from django.db import OperationalError

    target, failed_at = NoticeTarget("sendMessage", 42, "en").as_json(), time.time()
    with (
        mock.patch("botpresto.notifications.notices.Bot.objects.filter", side_effect=OperationalError("away")),
        pytest.raises(Retry),
    ):
        notice_send_task.apply(args=(bot.id, target, failed_at))
    Bot.objects.filter(id=bot.id).update(endpoint_recovered_at=datetime.fromtimestamp(failed_at + 5, tz=UTC))
    assert notice_send_task.apply(args=(bot.id, target, failed_at), retries=1).result == "stale"
    assert _sent(standin, tg) == []


@pytest.mark.django_db
def test_it_sends_a_notice_retried_after_the_database_came_back_while_the_bot_is_still_down(
    standin: StandIn, tg: Any, bot: Bot
) -> None:
    from unittest import mock

    from celery.exceptions import Retry
    from django.db import OperationalError

    target, failed_at = NoticeTarget("sendMessage", 42, "en").as_json(), time.time()
    with (
        mock.patch("botpresto.notifications.notices.Bot.objects.filter", side_effect=OperationalError("away")),
        pytest.raises(Retry),
    ):
        notice_send_task.apply(args=(bot.id, target, failed_at))
    assert notice_send_task.apply(args=(bot.id, target, failed_at), retries=1).result == "sent"
    assert len(_sent(standin, tg)) == 1
