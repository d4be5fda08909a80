"""The dashboard across an owner's bots: attention first, each bot's last day, the tenant's totals."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import BotHourlyStats
from analytics.stats import BUCKETS, latency_bucket
from botpresto.bots.models import Bot
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db


def _hour(bot: Bot, hours_ago: int, *, updates: int, failures: int = 0, latency_ms: float = 20) -> None:
    latency = [0] * BUCKETS
    latency[latency_bucket(latency_ms)] = updates + failures
    BotHourlyStats.objects.create(
        bot=bot,
        hour=timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago),
        updates=updates,
        attempts=updates + failures,
        failures=failures,
        latency=latency,
    )


def _order(html: str) -> list[str]:
    return re.findall(r'<td data-label="Bot"><a href="[^"]+">@(\w+)</a>', html)


def test_it_lists_bots_needing_attention_first(owner: Party, owner_client: Client) -> None:
    calm = bot_make(owner.tenant, username="calm_bot")
    _hour(calm, 1, updates=500)
    bot_make(owner.tenant, username="moved_bot", status=Bot.Status.WEBHOOK_CHANGED)
    bot_make(owner.tenant, username="off_bot", status=Bot.Status.DISCONNECTED)
    bot_make(owner.tenant, username="revoked_bot", status=Bot.Status.TOKEN_REVOKED)
    bot_make(owner.tenant, username="down_bot", endpoint_failing_since=timezone.now())
    shaky = bot_make(owner.tenant, username="shaky_bot")
    _hour(shaky, 2, updates=90, failures=10)
    html = owner_client.get("/bots/").content.decode()
    assert _order(html) == ["down_bot", "revoked_bot", "moved_bot", "off_bot", "shaky_bot", "calm_bot"]
    assert "Telegram no longer accepts the token we hold" in html


def test_it_draws_each_bots_last_day_with_its_failures(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, username="shop_bot")
    _hour(bot, 0, updates=30, failures=3)
    _hour(bot, 5, updates=10)
    _hour(bot, 30, updates=999)  # older than a day: not drawn
    html = owner_client.get("/bots/").content.decode()
    [svg] = re.findall(r'<svg class="sparkline".*?</svg>', html)
    assert "Last 24 hours: 40 updates, 3 failed attempts" in svg
    assert len(re.search(r'points="([^"]+)"', svg).group(1).split()) == 24  # type: ignore[union-attr]
    assert svg.count("<rect") == 1  # one hour had failures
    assert f'href="/bots/{bot.uuid}/deliveries/"' in html


def test_it_shows_each_bots_p95_latency(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, username="slow_bot")
    _hour(bot, 1, updates=100, latency_ms=1500)
    html = owner_client.get("/bots/").content.decode()
    p95 = re.search(r'<td data-label="Latency p95">(\d+) ms</td>', html)
    assert p95 is not None
    assert 1000 <= int(p95.group(1)) <= 2000


def test_it_totals_the_tenants_bots(owner: Party, outsider: Party, owner_client: Client) -> None:
    _hour(bot_make(owner.tenant), 1, updates=60, failures=20)
    _hour(bot_make(owner.tenant, status=Bot.Status.TOKEN_REVOKED), 3, updates=20)
    _hour(bot_make(outsider.tenant), 1, updates=5000, failures=5000)  # another tenant's
    html = owner_client.get("/bots/").content.decode()
    totals = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)", html))
    assert totals == {
        "Bots": "2",
        "Need attention": "1",
        "Updates (24 h)": "80",
        "Failed attempts (24 h)": "20",
        "Latency p95 (24 h)": totals["Latency p95 (24 h)"],
    }
    assert "(20%)" in html


def test_it_the_page_costs_the_same_queries_for_120_bots_as_for_3(
    owner: Party, owner_client: Client, outsider: Party, client: Client, django_assert_max_num_queries: Any
) -> None:
    for i in range(3):
        _hour(bot_make(owner.tenant), i, updates=i + 1)
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get("/bots/").status_code == 200
    for i in range(120):
        _hour(bot_make(outsider.tenant), i % 24, updates=i + 1, failures=i % 3)
    client.force_login(outsider.user)
    with django_assert_max_num_queries(len(few)):
        html = client.get("/bots/").content.decode()
    assert html.count('class="sparkline"') == 120


def test_it_a_small_failure_rate_does_not_show_as_zero(owner: Party, owner_client: Client) -> None:
    _hour(bot_make(owner.tenant), 1, updates=299, failures=1)
    html = owner_client.get("/bots/").content.decode()
    assert "(0.3%)" in html
    assert "0.3% failed (1)" in html
