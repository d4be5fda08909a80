"""Pages fit their screen: no sideways scrolling at 1366 px or on a 390 px phone, legible chart labels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.services import api_key_create, tenant_create
from accounts.signup import user_create
from analytics.models import BotHourlyStats
from botpresto.bots.models import Bot
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.factories import bot_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
LONG_NOTICE = "x" * 200  # one unbroken word, the most a notice may hold


@pytest.fixture
def owner_bot(live_server: Any) -> Bot:
    user = user_create(email="staff@example.com", password="a long pass phrase", email_verified=True)
    user.is_staff = user.is_superuser = True
    user.save()
    tenant = tenant_create(name="Staff Co", owner=user)
    api_key_create(tenant=tenant, name="deploy from the continuous integration server", created_by=user)
    bot = bot_make(
        tenant,
        username="a_rather_long_username_of_a_shop_bot",
        name="The shop's friendly order bot",
        notice_texts={"en": LONG_NOTICE},
        endpoint_failing_since=timezone.now(),
        delivery_problem_since=timezone.now(),
        webhook_info={
            "last_error_message": "Wrong response from the webhook: 502 Bad Gateway",
            "pending_update_count": 12,
        },
        webhook_checked_at=timezone.now(),
    )
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for i, users in enumerate((1, 0, 1)):
        BotHourlyStats.objects.create(
            bot=bot, hour=hour - timezone.timedelta(hours=i), updates=3, attempts=3, failures=0, users=users
        )
    return bot


def _sized(browser: Browser, width: int, height: int, mobile: bool) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    yield from _sized(browser, 1366, 900, mobile=False)


@pytest.fixture
def phone390(browser: Browser) -> Iterator[Page]:
    yield from _sized(browser, 390, 844, mobile=True)


def log_in(page: Page, site: str) -> None:
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Email").fill("staff@example.com")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{site}/bots/")


def page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.parametrize("size", ["desk", "phone390"])
def test_it_fits_long_notices_and_keys_on_the_screen(request: Any, size: str, live_server: Any, owner_bot: Bot) -> None:
    page: Page = request.getfixturevalue(size)
    width = page.viewport_size["width"]  # type: ignore[index]
    log_in(page, live_server.url)
    for name, path in (
        ("settings", f"/bots/{owner_bot.uuid}/settings/"),
        ("api-keys", "/accounts/api-keys/"),
        ("bot-page", f"/bots/{owner_bot.uuid}/"),
    ):
        page.goto(f"{live_server.url}{path}")
        if name == "api-keys":
            page.get_by_label("Name").fill("a_name_without_any_space_that_goes_on_and_on_for_a_while")
            page.get_by_role("button", name="Create key").click()
            expect(page.get_by_label("New API key")).to_be_visible()
        screenshot(page, f"layout-{name}-{width}")
        assert page_width(page) <= width, f"{path} is {page_width(page)} px wide on a {width} px screen"
        # A table too wide for the screen scrolls inside its own box: none may need to.
        for table in page.locator("main table").all():
            inner = table.evaluate("t => [t.scrollWidth, t.clientWidth]")
            assert inner[0] <= inner[1], f"a table on {path} needs {inner[0]} px and has {inner[1]}"


def test_it_shows_every_admin_bot_column_at_1366(desk: Page, live_server: Any, owner_bot: Bot) -> None:
    log_in(desk, live_server.url)
    desk.goto(f"{live_server.url}/admin/botpresto/bot/")
    screenshot(desk, "layout-admin-bots-1366")
    assert page_width(desk) <= 1366, f"the bot list is {page_width(desk)} px wide"
    # The list scrolls inside its own box when it is too wide: every column must be in view without that.
    results = desk.evaluate("(r => [r.scrollWidth, r.clientWidth])(document.querySelector('#changelist .results'))")
    assert results[0] <= results[1], f"the bot list needs {results[0]} px and has {results[1]}"
    desk.goto(f"{live_server.url}/admin/botpresto/maintenanceswitch/")
    expect(desk.get_by_role("heading", level=1)).to_contain_text("maintenance switch")
    desk.goto(f"{live_server.url}/admin/")
    expect(desk.get_by_role("link", name="Maintenance switches")).to_be_visible()


def test_it_draws_chart_labels_legibly_on_a_phone(phone390: Page, live_server: Any, owner_bot: Bot) -> None:
    log_in(phone390, live_server.url)
    phone390.goto(f"{live_server.url}/bots/{owner_bot.uuid}/")
    # Labels left out on a phone (every other time label) have no box.
    sizes = phone390.evaluate(
        "[...document.querySelectorAll('svg.chart text')].map(t => t.getBoundingClientRect().height).filter(h => h)"
    )
    screenshot(phone390, "layout-charts-390")
    phone390.locator("figure.chart").nth(1).screenshot(path=str(ARTIFACTS / "layout-users-chart-390.png"))
    assert sizes, "no chart labels"
    assert min(sizes) >= 10, f"labels {min(sizes):.1f} px high"
