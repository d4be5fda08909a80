"""The audience of a bot and an owner's alert channels, in a real browser against the live server and the stand-in."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from analytics.services import records_drain
from botpresto.bots.models import Bot
from botpresto.devtools.standin import StandIn
from botpresto.notifications.models import ALL_KINDS, AlertChannels, AlertWebhook
from proxy.recorder import recorder
from tests.browser.conftest import screenshot
from tests.browser.test_owner_flow import sign_up
from tests.proxy.endpoints import Endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def site(live_server: Any, standin: StandIn, settings: Any, proxy_threads: None) -> str:
    settings.PUBLIC_URL = live_server.url
    return str(live_server.url)


def test_it_an_owner_sees_the_audience_and_sets_up_alerts(
    page: Page, site: str, standin: StandIn, settings: Any
) -> None:
    endpoint = Endpoint()
    alert_bot = standin.add_bot(username="presto_alerts_bot")
    settings.ALERT_BOT_TOKEN = alert_bot.token
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    tg = standin.add_bot(username="shop_bot", webhook_url=endpoint.url, allowed_updates=["message"])
    try:
        sign_up(page, site)
        page.get_by_role("link", name="Connect", exact=True).first.click()
        page.get_by_label("Bot token").fill(tg.token)
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_text("Active").first).to_be_visible()
        bot = Bot.objects.get()
        user = {"id": 77, "is_bot": False, "first_name": "Ana", "language_code": "de"}
        chat = {"id": 77, "type": "private"}
        member = {"status": "kicked", "user": {"id": tg.id, "is_bot": True, "first_name": "shop"}}
        standin.push_updates(
            tg.token,
            [
                {
                    "message": {
                        "message_id": 1,
                        "date": int(time.time()),
                        "chat": chat,
                        "from": user,
                        "text": "/start spring_sale",
                    }
                },
                {"my_chat_member": {"chat": chat, "from": user, "date": int(time.time()), "new_chat_member": member}},
            ],
        )
        standin.wait_idle(tg.token)
        recorder.flush()
        records_drain(seconds=5)

        page.goto(f"{site}/bots/{bot.uuid}/")
        audience = page.locator("#audience")
        expect(audience.get_by_text("Have the bot blocked")).to_be_visible()
        expect(audience.locator("code", has_text="spring_sale")).to_be_visible()
        screenshot(page, "bot-audience")

        page.get_by_role("link", name="Alerts").click()
        page.get_by_role("button", name="Link Telegram").click()
        link = page.get_by_role("link", name="https://t.me/presto_alerts_bot?start=")
        expect(link).to_be_visible()
        expect(page.locator("#id_email_kinds_0")).to_be_checked()  # the stored choice, all by default
        page.locator("#id_telegram_kinds_1").uncheck()  # on Telegram: not when it recovers
        page.locator("#id_email_kinds_4").uncheck()  # by email: no maintenance notices
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Alert channels saved.")).to_be_visible()
        channels = AlertChannels.objects.get()
        assert channels.email_kinds == ["failing", "recovered", "token_revoked", "webhook_changed"]
        assert channels.telegram_kinds == ["failing", "token_revoked", "webhook_changed", "maintenance"]
        screenshot(page, "profile-alerts")

        hook = Endpoint()
        try:
            page.goto(f"{site}/accounts/alert-webhook/")
            page.get_by_label("Webhook URL").fill(hook.url)
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_text("Alert webhook saved.")).to_be_visible()
            assert AlertWebhook.objects.get().kinds == list(ALL_KINDS)  # every kind unless the owner unticks some
            page.get_by_role("button", name="Send a test").click()
            expect(page.get_by_text("It answered 200.")).to_be_visible()
            assert AlertWebhook.objects.get().last_status == "HTTP 200"
            assert len(hook.received) == 1
            screenshot(page, "alert-webhook")
        finally:
            hook.stop()
    finally:
        endpoint.stop()
