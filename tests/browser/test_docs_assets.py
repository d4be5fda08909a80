"""The API docs load nothing from other hosts but Redoc's logo (no web fonts), and pages show our icon."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_it_loads_no_font_from_another_host_on_the_redoc_page(page: Page, live_server: Any) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{live_server.url}/api/v1/redoc/")
    expect(page.locator("#redoc-container h1").first).to_contain_text("BotPresto API")
    page.wait_for_load_state("networkidle")
    own = urlsplit(live_server.url).netloc
    elsewhere = [url for url in asked if urlsplit(url).netloc not in (own, "")]
    assert [url for url in elsewhere if "font" in url] == []
    assert all(urlsplit(url).netloc == "cdn.redoc.ly" for url in elsewhere), elsewhere


def test_it_answers_the_icon_without_a_404(page: Page, live_server: Any) -> None:
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    for path in ("/accounts/login/", "/api/v1/redoc/", "/admin/login/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert missing == []
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.ok
    assert icon.headers["content-type"].startswith("image/svg+xml")
