from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.services import api_key_authenticate
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def emailed_link(site: str) -> str:
    """The confirmation link of the last email (the live server shares this process's mail outbox)."""
    match = re.search(r"http://[^/\s]+(/\S+)", mail.outbox[-1].body)
    assert match is not None
    return f"{site}{match.group(1)}"


def test_it_a_person_signs_up_and_creates_an_api_key(page: Page, live_server: Any) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_label("Organisation").fill("Owner Co")
    screenshot(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.goto(emailed_link(live_server.url))
    expect(page).to_have_url(f"{live_server.url}/bots/")

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("deploy script")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("New API key").input_value()
    screenshot(page, "api-keys")
    assert api_key_authenticate(plaintext=key) is not None
    page.reload()
    expect(page.get_by_text(key)).to_have_count(0)


def test_it_the_sign_up_page_fits_a_phone_screen(phone: Page, live_server: Any) -> None:
    phone.goto(f"{live_server.url}/accounts/signup/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(phone, "signup-phone")
