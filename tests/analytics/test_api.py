"""The owner's API: statistics and end users of one bot, tenant-scoped."""

from __future__ import annotations

import csv
import io

import pytest

from botpresto.bots.models import Bot
from tests.analytics.conftest import NOW, Push, drain, message
from tests.analytics.samples import updates
from tests.conftest import Party

pytestmark = pytest.mark.django_db

ANN = {"id": 501, "first_name": "Ann", "username": "ann", "language_code": "de"}
BO = {"id": 502, "first_name": "=HYPERLINK(1)", "language_code": "es"}


def stats_url(bot: Bot, period: str = "24h") -> str:
    return f"/api/v1/bots/{bot.uuid}/stats/?period={period}"


def users_url(bot: Bot, query: str = "") -> str:
    return f"/api/v1/bots/{bot.uuid}/users/{query}"


@pytest.fixture
def traffic(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN), latency_ms=8)
    push(bot, message(2, BO), status=502, upstream_status=None, error="timeout", latency_ms=9000)
    push(bot, message(2, BO), latency_ms=15)
    push(bot, updates()["callback_query"], latency_ms=15)
    push(bot, message(3, ANN), received_at=NOW - 3 * 86400)
    drain()


def test_it_gives_hourly_series_for_a_day(owner: Party, bot: Bot, traffic: None) -> None:
    body = owner.api().get(stats_url(bot)).json()
    assert body["step"] == "hour"
    assert len(body["series"]) == 24
    assert body["series"][-1]["updates"] == 3


def test_it_gives_totals_for_the_period(owner: Party, bot: Bot, traffic: None) -> None:
    totals = owner.api().get(stats_url(bot)).json()["totals"]
    assert (totals["updates"], totals["attempts"], totals["failures"]) == (3, 4, 1)
    assert totals["failures_by_kind"] == {"timeout": 1}
    assert totals["users"] == 3
    assert totals["top_commands"] == []
    assert totals["updates_by_type"] == {"message": 2, "callback_query": 1}
    assert totals["languages"][0] == {"name": "de", "count": 1}


def test_it_gives_latency_percentiles_from_the_histogram(owner: Party, bot: Bot, traffic: None) -> None:
    totals = owner.api().get(stats_url(bot)).json()["totals"]
    assert 5 <= totals["latency_p50_ms"] <= 20
    assert totals["latency_p95_ms"] > 5000


def test_it_gives_daily_series_for_a_month(owner: Party, bot: Bot, traffic: None) -> None:
    body = owner.api().get(stats_url(bot, "30d")).json()
    assert body["step"] == "day"
    assert len(body["series"]) == 30
    assert sum(point["updates"] for point in body["series"]) == 4


def test_it_a_week_counts_the_older_update_a_day_does_not(owner: Party, bot: Bot, traffic: None) -> None:
    week = owner.api().get(stats_url(bot, "7d")).json()
    assert len(week["series"]) == 7 * 24
    assert week["totals"]["updates"] == 4


def test_it_refuses_an_unknown_period(owner: Party, bot: Bot) -> None:
    response = owner.api().get(stats_url(bot, "1y"))
    assert response.status_code == 400
    assert "period" in response.json()["fields"]


def test_it_a_team_member_can_read_the_statistics(member: Party, bot: Bot, traffic: None) -> None:
    assert member.api().get(stats_url(bot)).status_code == 200


def test_it_an_outsider_gets_404_for_the_statistics(outsider: Party, bot: Bot) -> None:
    assert outsider.api().get(stats_url(bot)).status_code == 404


def test_it_an_outsider_gets_404_for_the_users(outsider: Party, bot: Bot) -> None:
    assert outsider.api().get(users_url(bot)).status_code == 404
    assert outsider.api().get(users_url(bot, "?format=csv")).status_code == 404


def test_it_lists_users_most_recently_active_first(owner: Party, bot: Bot, traffic: None) -> None:
    body = owner.api().get(users_url(bot)).json()
    assert body["count"] == 3
    assert [u["telegram_id"] for u in body["results"]][:2] == [2_222_222_222, 502]


def test_it_pages_the_users(owner: Party, bot: Bot, traffic: None) -> None:
    body = owner.api().get(users_url(bot, "?limit=1&offset=1")).json()
    assert [u["telegram_id"] for u in body["results"]] == [502]
    assert body["next"] is not None


def test_it_filters_users_by_language(owner: Party, bot: Bot, traffic: None) -> None:
    body = owner.api().get(users_url(bot, "?language=pt")).json()
    assert [u["telegram_id"] for u in body["results"]] == [2_222_222_222]  # pt-br


def test_it_filters_users_by_recent_activity(owner: Party, bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN), received_at=NOW - 3 * 86400)
    push(bot, message(2, BO))
    drain()
    body = owner.api().get(users_url(bot, "?active_within=24h")).json()
    assert [u["telegram_id"] for u in body["results"]] == [502]


def test_it_finds_users_by_name(owner: Party, bot: Bot, traffic: None) -> None:
    body = owner.api().get(users_url(bot, "?search=@ann")).json()
    assert [u["telegram_id"] for u in body["results"]] == [501]


def test_it_exports_the_users_as_csv(owner: Party, bot: Bot, traffic: None) -> None:
    response = owner.api().get(users_url(bot, "?format=csv&language=de"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["telegram_id"], r["username"], r["language_code"]) for r in rows] == [("501", "ann", "de")]


def test_it_the_csv_export_defuses_names_that_look_like_formulas(owner: Party, bot: Bot, traffic: None) -> None:
    response = owner.api().get(users_url(bot, "?format=csv&language=es"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["first_name"] == "'=HYPERLINK(1)"


@pytest.mark.parametrize("term", ["%C2%B2", "99999999999999999999"])  # a superscript two; past a bigint
def test_it_searches_a_digit_like_or_huge_term_as_a_name(owner: Party, bot: Bot, traffic: None, term: str) -> None:
    response = owner.api().get(users_url(bot, f"?search={term}"))
    assert response.status_code == 200
    assert response.json()["results"] == []
