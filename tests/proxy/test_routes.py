from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, RequestFactory

from botpresto.bots.models import Bot
from botpresto.bots.services import bot_update
from botpresto.core.crypto import KeyRing
from proxy import views
from proxy.recorder import recorder
from proxy.routes import table
from tests.factories import bot_make
from tests.proxy.conftest import UPDATE, post
from tests.proxy.endpoints import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(owner, endpoint: Endpoint) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, upstream_url=endpoint.url, endpoint_secret="first_secret", notices_enabled=False)


def _request(bot: Bot) -> Any:
    return RequestFactory().post(
        f"/proxy/bot/{bot.uuid}",
        data=UPDATE,
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=str(bot.proxy_secret),
    )


def test_it_a_forward_makes_no_database_query_before_answering(
    bot: Bot, endpoint: Endpoint, django_assert_num_queries: Any
) -> None:
    table.load()
    request = _request(bot)
    with django_assert_num_queries(0):
        response = views.proxy_entry(request, f"bot/{bot.uuid}")
    assert response.status_code == 200
    response.close()  # the server's close() runs the after-response work


def test_it_the_after_response_work_waits_for_close(bot: Bot, endpoint: Endpoint) -> None:
    from analytics import buffer

    table.load()
    response = views.proxy_entry(_request(bot), f"bot/{bot.uuid}")
    recorder.flush()
    assert buffer.buffer_length() == 0
    response.close()
    recorder.flush()
    assert buffer.buffer_length() == 1


def test_it_secrets_are_decrypted_once_not_per_update(
    client: Client, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(client, bot)
    opened = []
    real_open = KeyRing.open
    monkeypatch.setattr(KeyRing, "open", lambda self, *a, **k: opened.append(1) or real_open(self, *a, **k))
    for _ in range(5):
        assert post(client, bot).status_code == 200
    assert opened == []


def test_it_an_unknown_uuid_is_looked_up_once_then_remembered(client: Client, django_assert_num_queries: Any) -> None:
    table.load()
    url = "/proxy/bot/0b7a3e52-1111-4222-8333-444455556666"
    with django_assert_num_queries(1):
        for _ in range(5):
            assert client.post(url, data=UPDATE, content_type="application/json").status_code == 404


def test_it_a_bot_created_after_loading_is_found(owner, client: Client, endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    table.load()
    bot = bot_make(owner.tenant, upstream_url=endpoint.url)
    assert post(client, bot).status_code == 200


def test_it_a_change_to_the_bot_is_picked_up_by_the_refresh(
    client: Client, bot: Bot, endpoint: Endpoint, owner: Any
) -> None:
    post(client, bot)
    bot_update(bot=bot, data={"endpoint_secret": "second_secret"})
    table.refresh()
    post(client, bot)
    assert [r.headers["x-telegram-bot-api-secret-token"] for r in endpoint.received] == [
        "first_secret",
        "second_secret",
    ]


def test_it_a_new_secret_is_picked_up_by_the_refresh(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    old = str(bot.proxy_secret)
    post(client, bot)
    bot.proxy_secret = "fresh_secret"
    bot.save(update_fields=["proxy_secret", "updated_at"])
    table.refresh()
    assert post(client, bot, secret=old).status_code == 401  # Telegram retries it with the new one
    assert post(client, bot).status_code == 200


def test_it_a_deleted_bot_is_forgotten_by_the_refresh(
    client: Client, bot: Bot, django_capture_on_commit_callbacks: Any
) -> None:
    post(client, bot)
    uuid = str(bot.uuid)
    with django_capture_on_commit_callbacks(execute=True):
        bot.delete()
    table.refresh()
    assert table.cached(uuid) is None


@pytest.mark.django_db(transaction=True)
def test_it_the_background_refresh_sees_a_change_within_two_seconds(owner, endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, upstream_url=endpoint.url, endpoint_secret="first_secret")
    table.start()
    try:
        assert table.get(str(bot.uuid)).endpoint_secret == "first_secret"  # type: ignore[union-attr]
        bot_update(bot=bot, data={"endpoint_secret": "second_secret"})
        deadline = time.monotonic() + 2.5
        while table.get(str(bot.uuid)).endpoint_secret != "second_secret":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the refresh did not pick up the change"
            time.sleep(0.05)
    finally:
        table.stop()
