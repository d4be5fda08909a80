"""The delivery log and the dashboard across bots in a real browser, at desktop and phone widths."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from analytics import buffer
from analytics.models import BotHourlyStats
from analytics.services import records_drain
from analytics.stats import BUCKETS, latency_bucket
from botpresto.bots.models import Bot
from tests.analytics.conftest import message, record
from tests.browser.conftest import screenshot
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ANN = {"id": 501, "first_name": "Ann", "language_code": "de"}


def signed_in(browser: Browser, site: str, party: Party, viewport: dict[str, int]) -> Iterator[Page]:
    client = Client()
    client.force_login(party.user)
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)  # type: ignore[arg-type]
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": site,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Browser, live_server: Any, owner: Party) -> Iterator[Page]:
    yield from signed_in(browser, live_server.url, owner, DESKTOP)


@pytest.fixture
def phone_owner(browser: Browser, live_server: Any, owner: Party) -> Iterator[Page]:
    yield from signed_in(browser, live_server.url, owner, PHONE)


@pytest.fixture
def busy_bot(owner: Party) -> Bot:
    bot = bot_make(owner.tenant, username="shop_bot")
    now = time.time()
    for i in range(6):
        buffer.record_push(record(bot, message(i + 1, ANN), latency_ms=20 + i, received_at=now - 60 + i))
    for at in (now - 30, now - 20):  # update 7 failed twice, then got through
        failed = {"status": 502, "upstream_status": 500, "error": "http_status", "latency_ms": 35}
        buffer.record_push(record(bot, message(7, ANN), received_at=at, **failed))
    buffer.record_push(record(bot, message(7, ANN), latency_ms=18, received_at=now - 10))
    records_drain()
    return bot


def no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]  # type: ignore[index]


def test_it_an_owner_follows_a_chart_column_to_its_attempts_and_keeps_the_failed_ones(
    desktop: Page, live_server: Any, busy_bot: Bot
) -> None:
    desktop.goto(f"{live_server.url}/bots/{busy_bot.uuid}/")
    desktop.locator("figure.chart").first.locator("a.chart-link").last.click()  # the current hour's column
    expect(desktop).to_have_url(re.compile(r"/deliveries/\?since=[^&]+&until="))
    expect(desktop.locator("#deliveries-count")).to_have_text("9 attempts")
    desktop.get_by_label("Failed attempts only").check()
    desktop.get_by_role("button", name="Filter").click()
    expect(desktop.locator("#deliveries-count")).to_have_text("2 attempts")
    rows = desktop.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator('td[data-label="Attempt"]')).to_have_text("2")
    expect(rows.first.locator('td[data-label="Failure"]')).to_have_text("http_status")
    screenshot(desktop, "deliveries-failed-desktop")

    rows.first.get_by_role("link", name="7").click()  # every attempt of that update
    expect(desktop.locator("#deliveries-count")).to_have_text("3 attempts")
    expect(desktop.locator('table.deliveries td[data-label="Attempt"]')).to_have_text(["3", "2", "1"])


def test_it_the_delivery_log_fits_a_phone(phone_owner: Page, live_server: Any, busy_bot: Bot) -> None:
    phone_owner.goto(f"{live_server.url}/bots/{busy_bot.uuid}/deliveries/")
    expect(phone_owner.locator("#deliveries-count")).to_have_text("9 attempts")
    no_horizontal_scroll(phone_owner)
    screenshot(phone_owner, "deliveries-phone")


def _fleet(owner: Party) -> None:
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for i in range(12):
        bot = bot_make(owner.tenant, username=f"calm_{i:02d}_bot")
        for h in range(0, 24, 2):
            latency = [0] * BUCKETS
            latency[latency_bucket(30 + i)] = 50 + i * 5 + h
            BotHourlyStats.objects.create(
                bot=bot,
                hour=hour - timezone.timedelta(hours=h),
                updates=50 + i * 5 + h,
                attempts=50 + i * 5 + h,
                latency=latency,
            )
    down = bot_make(owner.tenant, username="down_bot", endpoint_failing_since=timezone.now())
    latency = [0] * BUCKETS
    latency[latency_bucket(9000)] = 80
    BotHourlyStats.objects.create(bot=down, hour=hour, updates=20, attempts=80, failures=60, latency=latency)
    bot_make(owner.tenant, username="revoked_bot", status=Bot.Status.TOKEN_REVOKED)


def test_it_the_dashboard_puts_bots_in_trouble_first_on_a_desktop(
    desktop: Page, live_server: Any, owner: Party
) -> None:
    _fleet(owner)
    desktop.goto(f"{live_server.url}/bots/")
    names = desktop.locator('table.fleet td[data-label="Bot"] a')
    expect(names.nth(0)).to_have_text("@down_bot")
    expect(names.nth(1)).to_have_text("@revoked_bot")
    expect(desktop.locator("svg.sparkline")).to_have_count(14)
    expect(desktop.locator("dl.fleet-totals")).to_contain_text("Need attention")
    screenshot(desktop, "dashboard-fleet-desktop")


def test_it_the_dashboard_fits_a_phone(phone_owner: Page, live_server: Any, owner: Party) -> None:
    _fleet(owner)
    phone_owner.goto(f"{live_server.url}/bots/")
    expect(phone_owner.locator('table.fleet td[data-label="Bot"] a').first).to_have_text("@down_bot")
    no_horizontal_scroll(phone_owner)
    screenshot(phone_owner, "dashboard-fleet-phone")
