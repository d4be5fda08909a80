"""Small things a new user meets on the pages: where reconnect lands, what a disconnected bot's page says,
the logout message, the icon."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from botpresto.bots.models import Bot
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
S = Bot.Status


def test_it_lands_back_on_the_bot_page_after_reconnecting_from_there(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, status=S.DISCONNECTED)
    response = owner_client.post(f"/bots/{bot.uuid}/reconnect/", {"next": f"/bots/{bot.uuid}/"})
    assert response.status_code == 302
    assert response["Location"] == f"/bots/{bot.uuid}/"


def test_it_offers_reconnect_on_the_bot_page_with_the_way_back(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, status=S.DISCONNECTED)
    page = owner_client.get(f"/bots/{bot.uuid}/").content.decode()
    assert f'action="/bots/{bot.uuid}/reconnect/"' in page
    assert f'<input type="hidden" name="next" value="/bots/{bot.uuid}/">' in page


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/", ""])
def test_it_ignores_a_next_that_leaves_the_site(owner: Party, owner_client: Client, target: str) -> None:
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, status=S.DISCONNECTED)
    response = owner_client.post(f"/bots/{bot.uuid}/reconnect/", {"next": target})
    assert response["Location"] == f"/bots/{bot.uuid}/settings/#main"


@pytest.mark.parametrize(
    ("status", "note"),
    [
        (S.ACTIVE, "Telegram sends updates here"),
        (S.DISCONNECTED, "not in use: Telegram sends updates straight to your endpoint"),
        (S.WEBHOOK_CHANGED, "not in use: the bot's webhook was changed"),
        (S.BYPASSED, "not in use during maintenance"),
    ],
)
def test_it_says_whether_telegram_sends_updates_to_the_proxy_url(
    owner: Party, owner_client: Client, status: str, note: str
) -> None:
    bot = bot_make(owner.tenant, status=status)
    page = owner_client.get(f"/bots/{bot.uuid}/").content.decode()
    assert f"({note}" in page.replace("&#x27;", "'")
    if status != S.ACTIVE:
        assert "Telegram sends updates here" not in page


def test_it_says_you_have_been_logged_out(owner: Party, owner_client: Client) -> None:
    response = owner_client.post("/accounts/logout/", follow=True)
    assert response.request["PATH_INFO"] == "/accounts/login/"
    assert "You have been logged out." in response.content.decode()
    assert "You have been logged out." not in owner_client.get("/accounts/login/").content.decode()


def test_it_shows_an_icon_on_every_page(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 302
    assert legacy["Location"] == "/static/favicon.svg"


def test_it_names_http_as_allowed_where_it_is(owner: Party, owner_client: Client, settings: Any) -> None:
    settings.ALLOW_PRIVATE_UPSTREAMS = True  # make demo, local development
    page = owner_client.post("/bots/connect/manual/", {"upstream_url": "ftp://127.0.0.1:8082/hook"}).content.decode()
    assert "The endpoint URL must start with https:// or http://." in page
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    page = owner_client.post("/bots/connect/manual/", {"upstream_url": "ftp://127.0.0.1:8082/hook"}).content.decode()
    assert "The endpoint URL must start with https://." in page
