"""The delivery log: what the owner sees of each attempt, in the API and on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from analytics import deliveries
from analytics.charts import line_chart
from analytics.deliveries import deliveries_prune, delivery_notice_mark
from analytics.models import Delivery
from botpresto.bots.models import Bot
from botpresto.notifications.notices import NoticeTarget, notice_send
from tests.analytics.conftest import NOW, Push, drain, message
from tests.analytics.samples import updates
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db

ANN = {"id": 501, "first_name": "Ann", "language_code": "de"}


def url(bot: Bot, query: str = "") -> str:
    return f"/api/v1/bots/{bot.uuid}/deliveries/{query}"


def results(party: Party, bot: Bot, query: str = "") -> list[dict[str, Any]]:
    response = party.api().get(url(bot, query))
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


@pytest.fixture
def traffic(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN), latency_ms=8, received_at=NOW - 30)
    failed = {"status": 502, "upstream_status": 500, "error": "http_status"}
    push(bot, message(2, ANN), status=502, upstream_status=None, error="timeout", latency_ms=9000, received_at=NOW - 20)
    push(bot, message(2, ANN), **failed, latency_ms=40, received_at=NOW - 10)
    push(bot, message(2, ANN), latency_ms=15, received_at=NOW - 5)
    push(bot, updates()["callback_query"], latency_ms=11, received_at=NOW)
    drain()


def test_it_lists_each_attempt_newest_first(owner: Party, bot: Bot, traffic: None) -> None:
    rows = results(owner, bot)
    assert [r["update_type"] for r in rows][:2] == ["callback_query", "message"]
    assert [(r["update_id"], r["status"]) for r in rows][1:] == [(2, 200), (2, 502), (2, 502), (1, 200)]
    failed = rows[3]
    assert failed["update_type"] == "message"
    assert failed["chat_type"] == "private"
    assert (failed["upstream_status"], failed["failure"], failed["latency_ms"]) == (None, "timeout", 9000)
    assert failed["notice_sent"] is False
    assert datetime.fromisoformat(failed["received_at"]) == datetime.fromtimestamp(NOW - 20, tz=UTC)


def test_it_numbers_telegrams_retries_of_an_update(owner: Party, bot: Bot, traffic: None) -> None:
    rows = results(owner, bot, "?update_id=2")
    assert [r["attempt"] for r in rows] == [3, 2, 1]
    assert [r["attempt"] for r in results(owner, bot, "?update_id=1")] == [1]


def test_it_filters_failed_attempts(owner: Party, bot: Bot, traffic: None) -> None:
    rows = results(owner, bot, "?failed=true")
    assert [r["failure"] for r in rows] == ["http_status", "timeout"]
    assert results(owner, bot, "?failed=1") == rows  # as the schema's boolean allows
    assert len(results(owner, bot, "?failed=false")) == 5


def test_it_filters_by_type_and_time(owner: Party, bot: Bot, traffic: None) -> None:
    assert {r["update_type"] for r in results(owner, bot, "?type=callback_query")} == {"callback_query"}
    since = datetime.fromtimestamp(NOW - 25, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    until = datetime.fromtimestamp(NOW - 7, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    rows = results(owner, bot, f"?since={since}&until={until}")
    assert [r["status"] for r in rows] == [502, 502]


def test_it_pages_with_limit_and_offset(owner: Party, bot: Bot, traffic: None) -> None:
    body = owner.api().get(url(bot, "?limit=2&offset=1")).json()
    assert body["count"] == 5
    assert [r["update_id"] for r in body["results"]] == [2, 2]
    assert "offset=3" in body["next"]


def test_it_says_which_filter_is_wrong(owner: Party, bot: Bot) -> None:
    response = owner.api().get(url(bot, "?type=letter"))
    assert response.status_code == 400
    assert "type" in response.content.decode()
    assert owner.api().get(url(bot, "?since=yesterday")).status_code == 400
    assert owner.api().get(url(bot, "?update_id=-1")).status_code == 400


ODD_FILTERS = [
    "?update_id=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
    "?limit=%C2%B2",
    "?offset=%C2%B2",
    "?since=0001-01-01T00:00:00%2B05:00",  # before the first UTC moment there is
    "?until=9999-12-31T23:59:59-05:00",  # after the last
]


@pytest.mark.parametrize("query", ODD_FILTERS)
def test_it_refuses_odd_filter_values_with_a_400_naming_them(owner: Party, bot: Bot, query: str) -> None:
    response = owner.api().get(url(bot, query))
    assert response.status_code == 400
    assert query[1:].split("=")[0] in response.json()["fields"]


@pytest.mark.parametrize("query", [q for q in ODD_FILTERS if "limit" not in q and "offset" not in q])
def test_it_the_page_refuses_odd_filter_values_by_name(owner_client: Client, bot: Bot, query: str) -> None:
    response = owner_client.get(f"/bots/{bot.uuid}/deliveries/{query}")
    assert response.status_code == 200
    assert f"{query[1:].split('=')[0]} is" in response.content.decode()


def test_it_a_viewer_can_read_the_log(viewer: Party, bot: Bot, traffic: None) -> None:
    assert len(results(viewer, bot)) == 5


def test_it_an_outsider_gets_404_for_the_log(outsider: Party, bot: Bot, traffic: None) -> None:
    assert outsider.api().get(url(bot)).status_code == 404


def test_it_keeps_no_log_when_turned_off(owner: Party, bot: Bot, push: Push, settings: Settings) -> None:
    settings.DELIVERY_LOG_ENABLED = False
    push(bot, message(1, ANN))
    drain()
    assert results(owner, bot) == []


def test_it_shows_that_the_user_was_told_when_the_notice_came_after_the_row(
    owner: Party, bot: Bot, traffic: None
) -> None:
    delivery_notice_mark(bot_id=bot.id, received_at=NOW - 20)
    assert [r["notice_sent"] for r in results(owner, bot, "?update_id=2")] == [False, False, True]


def test_it_shows_that_the_user_was_told_when_the_notice_came_first(
    owner: Party, bot: Bot, push: Push, django_capture_on_commit_callbacks: Any
) -> None:
    delivery_notice_mark(bot_id=bot.id, received_at=NOW - 20)  # the notice task ran before the drain
    push(bot, message(2, ANN), status=502, upstream_status=500, error="http_status", received_at=NOW - 20)
    with django_capture_on_commit_callbacks(execute=True):  # the drain's commit
        drain()
    assert [r["notice_sent"] for r in results(owner, bot)] == [True]


def test_it_forgets_attempts_older_than_the_kept_days(bot: Bot, push: Push, settings: Settings) -> None:
    settings.DELIVERY_LOG_DAYS = 7
    push(bot, message(1, ANN), received_at=NOW - 8 * 86400)
    push(bot, message(2, ANN), received_at=NOW - 6 * 86400)
    drain()
    assert deliveries_prune() == 1
    assert list(Delivery.objects.values_list("update_id", flat=True)) == [2]


def test_it_a_busy_bot_keeps_only_its_newest_attempts(
    owner: Party, bot: Bot, bot_without_mixpanel: Bot, push: Push, settings: Settings
) -> None:
    settings.DELIVERY_LOG_MAX_PER_BOT = 100
    for i in range(130):
        push(bot, message(i + 1, ANN), received_at=NOW - 130 + i)
    push(bot_without_mixpanel, message(1, ANN))
    drain()
    assert deliveries_prune() == 30
    kept = Delivery.objects.filter(bot=bot)
    assert kept.count() == 100
    assert min(kept.values_list("update_id", flat=True)) == 31
    assert Delivery.objects.filter(bot=bot_without_mixpanel).count() == 1


def test_it_the_prune_runs_on_the_beat(settings: Settings) -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "analytics.tasks.deliveries_prune_task" in tasks


def test_it_a_deleted_bots_attempts_go_with_it(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN))
    drain()
    bot.delete()
    assert Delivery.objects.count() == 0


# --- The page ----------------------------------------------------------------------------


@pytest.fixture
def owner_client(owner: Party, client: Client) -> Client:
    client.force_login(owner.user)
    return client


def test_it_the_page_lists_attempts_with_the_apis_filters(owner_client: Client, bot: Bot, traffic: None) -> None:
    html = owner_client.get(f"/bots/{bot.uuid}/deliveries/?failed=on").content.decode()
    assert "2 attempts" in html
    assert "timeout" in html
    assert "http_status" in html
    assert 'name="failed" id="id_failed" checked' in html


def test_it_the_page_shows_a_chart_links_hour_in_its_time_fields(owner_client: Client, bot: Bot) -> None:
    html = owner_client.get(f"/bots/{bot.uuid}/deliveries/?since=2026-01-31T14:00:00Z").content.decode()
    assert 'value="2026-01-31T14:00"' in html


def test_it_the_page_says_which_filter_is_wrong(owner_client: Client, bot: Bot) -> None:
    html = owner_client.get(f"/bots/{bot.uuid}/deliveries/?update_id=abc").content.decode()
    assert "update_id is a whole number." in html


def test_it_an_outsider_gets_404_for_the_page(outsider: Party, client: Client, bot: Bot) -> None:
    client.force_login(outsider.user)
    assert client.get(f"/bots/{bot.uuid}/deliveries/").status_code == 404


def test_it_the_bot_page_links_the_log(owner_client: Client, bot: Bot) -> None:
    assert f'href="/bots/{bot.uuid}/deliveries/"' in owner_client.get(f"/bots/{bot.uuid}/").content.decode()


def test_it_each_chart_column_links_the_attempts_of_its_hour(owner_client: Client, bot: Bot, push: Push) -> None:
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    push(bot, message(1, ANN), received_at=hour.timestamp() + 60)
    push(bot, message(2, ANN), status=502, upstream_status=500, error="http_status", received_at=hour.timestamp() + 90)
    drain()
    html = owner_client.get(f"/bots/{bot.uuid}/").content.decode()
    since = hour.strftime("%Y-%m-%dT%H%%3A%M%%3A%SZ")
    until = (hour + timedelta(hours=1)).strftime("%Y-%m-%dT%H%%3A%M%%3A%SZ")
    assert f"/bots/{bot.uuid}/deliveries/?since={since}&amp;until={until}" in html
    assert "failed=true&amp;since=" in html  # the failure chart's point opens the failed ones
    assert html.count('class="chart-link"') == 3  # one hour had attempts: updates, failure rate, latency


def test_it_another_tenants_bot_is_not_in_the_log(owner: Party, outsider: Party, bot: Bot, push: Push) -> None:
    theirs = bot_make(outsider.tenant, username="their_bot")
    push(theirs, message(1, ANN))
    drain()
    assert results(owner, bot) == []


def test_it_a_notice_sent_to_the_user_shows_in_the_log(owner: Party, standin: Any, push: Push) -> None:
    tg = standin.add_bot(username="told_bot")
    standin.add_chat(tg.token, {"id": 501, "type": "private"})
    told = bot_make(owner.tenant, token=tg.token, telegram_id=tg.id, username="told_bot")
    push(told, message(1, ANN), status=502, upstream_status=500, error="http_status", received_at=NOW - 20)
    push(told, message(2, ANN), status=502, upstream_status=500, error="http_status", received_at=NOW - 10)
    drain()
    target = NoticeTarget("sendMessage", 501, "de", back_chat=501)
    assert notice_send(bot_id=told.id, target=target, failed_at=NOW - 20) == "sent"
    assert notice_send(bot_id=told.id, target=target, failed_at=NOW - 10) == "cooldown"
    assert [(r["update_id"], r["notice_sent"]) for r in results(owner, told)] == [(2, False), (1, True)]


def test_it_an_impossible_status_or_update_id_in_a_record_does_not_lose_the_batch(
    owner: Party, bot: Bot, push: Push
) -> None:
    push(bot, message(1, ANN), status=502, upstream_status=70000, error="http_status", received_at=NOW - 2)
    push(bot, message(2**70, ANN), received_at=NOW - 1)
    push(bot, message(2, ANN))
    drain()
    rows = [(r["update_id"], r["upstream_status"]) for r in results(owner, bot)]
    assert rows == [(2, 200), (None, 200), (1, None)]


def test_it_the_drains_insert_writes_every_column_of_the_log() -> None:
    stored = {field.attname for field in Delivery._meta.concrete_fields} - {"id"}
    assert set(deliveries._COLUMNS) == stored


def test_it_a_chart_links_only_the_periods_given_a_link_and_escapes_them() -> None:
    plain = line_chart("Latency", ["01:00", "02:00"], {"p95": [1.0, 2.0]})
    linked = line_chart("Latency", ["01:00", "02:00"], {"p95": [1.0, 2.0]}, links=[None, "/log/?a=1&b=2"])
    assert "<a " not in plain
    assert linked.count("<a ") == 1
    assert 'href="/log/?a=1&amp;b=2"' in linked
    assert 'aria-label="Attempts of 02:00"' in linked


def test_it_a_cache_outage_while_marking_a_notice_raises_nothing(
    bot: Bot, push: Push, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    class Away:
        def __getattr__(self, name: str) -> Any:
            raise ConnectionError("cache away")

    monkeypatch.setattr(deliveries, "cache", Away())  # the log's marks only: the drain's own cache works
    delivery_notice_mark(bot_id=bot.id, received_at=NOW - 20)  # the notice was sent: the task must not fail
    push(bot, message(2, ANN), status=502, upstream_status=500, error="http_status", received_at=NOW - 20)
    with django_capture_on_commit_callbacks(execute=True):
        drain()
    assert Delivery.objects.filter(bot=bot).count() == 1  # stored once, not taken again


def test_it_pages_the_log_page_keeping_its_filters(
    owner_client: Client, bot: Bot, push: Push, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics import delivery_views

    monkeypatch.setattr(delivery_views, "PAGE_SIZE", 2)
    for n in range(3):
        push(bot, message(10 + n, ANN), status=502, upstream_status=500, error="http_status", received_at=NOW - n)
    drain()
    html = owner_client.get(f"/bots/{bot.uuid}/deliveries/?failed=true").content.decode()
    assert "Page 1 of 2" in html
    assert "?failed=true&amp;page=2" in html
    assert "Page 2 of 2" in owner_client.get(f"/bots/{bot.uuid}/deliveries/?failed=true&page=2").content.decode()
