"""The pages, the admin and the API docs work under the Content-Security-Policy: no violation."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.services import tenant_create
from accounts.signup import user_create
from analytics.models import BotHourlyStats
from tests.factories import bot_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Runs before any script of the page, outside its policy: records what the browser refused.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(page: Page) -> tuple[Page, list[str]]:
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(WATCH)
    return page, console


@pytest.fixture
def staff(live_server: Any) -> Any:
    user = user_create(email="staff@example.com", password="a long pass phrase", email_verified=True)
    user.is_staff = user.is_superuser = True
    user.save()
    tenant = tenant_create(name="Staff Co", owner=user)
    tenant_create(name="Second Co", owner=user)
    bot = bot_make(tenant, username="shop_bot")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    BotHourlyStats.objects.create(bot=bot, hour=hour, updates=40, attempts=42, failures=2)
    return bot


def log_in(page: Page, site: str) -> None:
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Email").fill("STAFF@example.com")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{site}/bots/")


def test_it_no_page_breaks_the_policy(watched: tuple[Page, list[str]], live_server: Any, staff: Any) -> None:
    page, console = watched
    site = live_server.url
    log_in(page, site)
    page.get_by_label("Organisation").select_option(label="Staff Co")  # submits through copy.js
    expect(page.get_by_role("link", name="@shop_bot")).to_be_visible()
    paths = [
        "/bots/",
        f"/bots/{staff.uuid}/",
        f"/bots/{staff.uuid}/settings/",
        f"/bots/{staff.uuid}/users/",
        "/bots/connect/",
        "/accounts/members/",
        "/accounts/api-keys/",
        "/admin/",
        f"/admin/botpresto/bot/{staff.id}/change/",
        "/admin/accounts/membership/",
    ]
    for path in paths:
        page.goto(f"{site}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], path
    page.goto(f"{site}/accounts/api-keys/")
    page.get_by_label("Name").fill("deploy")
    page.get_by_role("button", name="Create key").click()
    page.get_by_label("New API key").focus()  # copy.js selects the whole key
    selected = page.evaluate("[document.activeElement.selectionStart, document.activeElement.selectionEnd]")
    assert selected == [0, len(page.get_by_label("New API key").input_value())]
    assert page.evaluate("window.__violations") == []
    assert console == []


def test_it_the_api_docs_render_under_the_policy(watched: tuple[Page, list[str]], live_server: Any) -> None:
    page, console = watched
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("BotPresto API")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__violations") == []
    page.goto(f"{live_server.url}/api/v1/redoc/")
    expect(page.locator("#redoc-container h1").first).to_contain_text("BotPresto API")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__violations") == []
    assert console == []


def test_it_the_login_pages_render_under_the_policy(watched: tuple[Page, list[str]], live_server: Any) -> None:
    page, console = watched
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password_reset/", "/admin/login/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], path
    assert console == []
