"""An owner's whole journey in a real browser, against the live server and the Telegram stand-in."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from analytics.services import records_drain
from botpresto.bots.models import Bot
from botpresto.devtools.standin import StandIn
from tests.browser.conftest import screenshot
from tests.browser.test_accounts_flow import emailed_link
from tests.proxy.endpoints import Endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def site(live_server: Any, standin: StandIn, settings: Any, proxy_threads: None) -> str:
    settings.PUBLIC_URL = live_server.url  # the proxy URL Telegram is given
    return str(live_server.url)


def talk(standin: StandIn, token: str, *texts: str) -> None:
    user = {"id": 77, "is_bot": False, "first_name": "Ana", "language_code": "de"}
    chat = {"id": 77, "type": "private", "first_name": "Ana"}
    standin.push_updates(
        token,
        [
            {"message": {"message_id": 1, "date": int(time.time()), "chat": chat, "from": user, "text": t}}
            for t in texts
        ],
    )
    standin.wait_idle(token)


def sign_up(page: Page, site: str) -> None:
    page.goto(f"{site}/accounts/signup/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(emailed_link(site))
    expect(page).to_have_url(f"{site}/bots/")


def test_it_an_owner_connects_edits_rotates_and_deletes_a_bot(page: Page, site: str, standin: StandIn) -> None:
    endpoint = Endpoint()
    original = endpoint.url
    tg = standin.add_bot(username="shop_bot", webhook_url=original, secret_token="owner_secret", max_connections=9)
    sign_up(page, site)

    page.get_by_role("link", name="Connect", exact=True).first.click()
    page.get_by_label("Bot token").fill(tg.token)
    page.get_by_label("Endpoint secret").fill("owner_secret")
    screenshot(page, "connect")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("Active").first).to_be_visible()
    bot = Bot.objects.get()
    assert standin.bot(tg.token).webhook_url == bot.proxy_url

    talk(standin, tg.token, "/start", "/help", "hello")  # Telegram -> proxy -> the owner's endpoint
    assert len(endpoint.received) == 3
    records_drain()
    page.reload()
    expect(page.locator("#activity svg")).to_have_count(4)
    expect(page.locator("#activity").get_by_text("/start")).to_be_visible()
    screenshot(page, "bot-page")

    page.goto(f"{site}/bots/")
    expect(page.get_by_role("link", name="@shop_bot")).to_be_visible()
    screenshot(page, "dashboard")

    page.goto(f"{site}/bots/{bot.uuid}/settings/")
    page.get_by_label("German (de)", exact=True).fill("Der Bot macht gerade Pause.")  # not "German (de), back"
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".bubble", has_text="Der Bot macht gerade Pause.")).to_be_visible()
    page.get_by_role("button", name="Save notices").click()
    expect(page.get_by_text("Der Bot macht gerade Pause.").first).to_be_visible()
    assert Bot.objects.get().notice_texts["de"] == "Der Bot macht gerade Pause."
    screenshot(page, "settings")

    new_token = standin.rotate_token(tg.token)
    page.get_by_label("New bot token").fill(new_token)
    page.get_by_role("button", name="Replace the token").click()
    expect(page.get_by_text("Active").first).to_be_visible()
    assert Bot.objects.get().token == new_token
    assert standin.bot(new_token).webhook_url == bot.proxy_url

    page.goto(f"{site}/bots/{bot.uuid}/delete/")
    expect(page.get_by_text(original).first).to_be_visible()
    screenshot(page, "delete")
    page.get_by_role("button", name="Delete the bot").click()
    expect(page).to_have_url(f"{site}/bots/")
    state = standin.bot(new_token)
    assert (state.webhook_url, state.secret_token, state.max_connections) == (original, "owner_secret", 9)
    assert not Bot.objects.exists()
    endpoint.stop()
