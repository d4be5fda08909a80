"""The Bot API client's errors say what the caller should do."""

from __future__ import annotations

from typing import Any

import pytest

from botpresto.core.telegram import PermanentError, RateLimited, TelegramUnavailable, TokenRevoked, telegram
from botpresto.devtools.standin import StandIn


@pytest.fixture
def token(standin: StandIn) -> str:
    return standin.add_bot(username="client_bot").token


def test_it_get_me_reads_the_bot(standin: StandIn, token: str) -> None:
    me = telegram.get_me(token)
    assert (me.id, me.username) == (int(token.split(":")[0]), "client_bot")


def test_it_a_revoked_token_raises_token_revoked(standin: StandIn, token: str) -> None:
    standin.revoke(token)
    with pytest.raises(TokenRevoked):
        telegram.get_me(token)


def test_it_a_rate_limit_carries_retry_after(standin: StandIn, token: str) -> None:
    standin.rate_limit(token, "sendMessage", retry_after=7)
    with pytest.raises(RateLimited) as caught:
        telegram.send_message(token, chat_id=1, text="hi")
    assert caught.value.retry_after == 7


def test_it_an_unknown_chat_is_a_permanent_error(standin: StandIn, token: str) -> None:
    with pytest.raises(PermanentError, match="chat not found"):
        telegram.send_message(token, chat_id=424242, text="hi")


def test_it_an_unreachable_api_is_transient(settings: Any) -> None:
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"
    with pytest.raises(TelegramUnavailable):
        telegram.get_me("1:x")


def test_it_set_webhook_sends_the_certificate_as_a_file(standin: StandIn, token: str) -> None:
    telegram.set_webhook(token, url="https://bot.example.com/hook", certificate=b"PEM", max_connections=3)
    state = standin.bot(token)
    assert (state.certificate, state.max_connections, state.webhook_url) == (b"PEM", 3, "https://bot.example.com/hook")


def test_it_get_webhook_info_never_sees_the_secret(standin: StandIn, token: str) -> None:
    telegram.set_webhook(token, url="https://bot.example.com/hook", secret_token="s3cret")
    info = telegram.get_webhook_info(token)
    assert info.url == "https://bot.example.com/hook"
    assert "s3cret" not in str(info.raw)
