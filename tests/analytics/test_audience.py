"""Blocks and churn, active users, retention cohorts and deep-link campaigns, from the records the proxy pushes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics.models import BotDailyStats, BotHourlyStats, CohortDay, EndUser
from analytics.selectors import bot_audience, bot_campaigns, bot_retention, bot_stats
from botpresto.bots.models import Bot
from botpresto.devtools.collector import MixpanelCollector
from tests.analytics.conftest import Push, drain, message
from tests.conftest import Party

pytestmark = pytest.mark.django_db

DAY0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday, 09:00 UTC
ANN = {"id": 501, "is_bot": False, "first_name": "Ann", "language_code": "de"}
BO = {"id": 502, "is_bot": False, "first_name": "Bo"}
_ids = iter(range(10_000, 99_999))


def at(days: float, hours: float = 0) -> float:
    return (DAY0 + timedelta(days=days, hours=hours)).timestamp()


def member_update(user: dict[str, Any], status: str) -> dict[str, Any]:
    bot = {"id": 9, "is_bot": True, "first_name": "Bot"}
    return {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": {"id": user["id"], "type": "private"},
            "from": user,
            "date": int(time.time()) - 60,
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {"status": status, "user": bot},
        },
    }


def said(push: Push, bot: Bot, user: dict[str, Any], text: str = "hi", *, day: float = 0, hours: float = 0) -> None:
    push(bot, message(next(_ids), user, text=text), received_at=at(day, hours))


def test_it_counts_a_block_and_an_unblock(bot: Bot, push: Push) -> None:
    said(push, bot, ANN)
    push(bot, member_update(ANN, "kicked"), received_at=at(0, 1))
    push(bot, member_update(ANN, "member"), received_at=at(0, 2))
    drain()
    day = BotDailyStats.objects.get(bot=bot, day=DAY0.replace(hour=0))
    assert (day.blocks, day.unblocks) == (1, 1)
    hours = BotHourlyStats.objects.filter(hour__lt=DAY0 + timedelta(days=1)).order_by("hour")
    assert [(h.hour.hour, h.blocks, h.unblocks) for h in hours] == [
        (9, 0, 0),
        (10, 1, 0),
        (11, 0, 1),
    ]


def test_it_a_retried_block_counts_once(bot: Bot, push: Push) -> None:
    block = member_update(ANN, "kicked")
    push(bot, block, status=502, upstream_status=500, error="http_status", received_at=at(0))
    push(bot, block, received_at=at(0, 0.1))
    drain()
    assert BotDailyStats.objects.get(bot=bot, day=DAY0.replace(hour=0)).blocks == 1


def test_it_unblocking_a_bot_nobody_blocked_counts_nothing(bot: Bot, push: Push) -> None:
    push(bot, member_update(ANN, "member"), received_at=at(0))
    drain()
    assert BotDailyStats.objects.get(bot=bot, day=DAY0.replace(hour=0)).unblocks == 0


def test_it_a_block_in_a_group_is_no_block(bot: Bot, push: Push) -> None:
    update = member_update(ANN, "kicked")
    update["my_chat_member"]["chat"] = {"id": -100, "type": "group"}
    push(bot, update, received_at=at(0))
    drain()
    assert BotDailyStats.objects.get(bot=bot, day=DAY0.replace(hour=0)).blocks == 0


def test_it_a_new_user_from_a_deep_link_belongs_to_its_campaign(bot: Bot, push: Push) -> None:
    said(push, bot, ANN, "/start spring_sale")
    drain()
    assert EndUser.objects.get(bot=bot).campaign == "spring_sale"
    cohort = CohortDay.objects.get(bot=bot)
    assert (cohort.day, cohort.campaign, cohort.new_users, cohort.active_users) == (
        DAY0.replace(hour=0),
        "spring_sale",
        1,
        1,
    )


def test_it_a_known_user_keeps_the_campaign_they_came_with(bot: Bot, push: Push) -> None:
    said(push, bot, ANN, "/start first")
    said(push, bot, ANN, "/start second", day=1)
    said(push, bot, BO, "hello")
    said(push, bot, BO, "/start late", day=1)
    drain()
    assert dict(EndUser.objects.values_list("telegram_id", "campaign")) == {501: "first", 502: ""}


def test_it_retention_counts_users_back_one_and_seven_days_later(bot: Bot, push: Push) -> None:
    said(push, bot, ANN, "/start ads")
    said(push, bot, BO)
    said(push, bot, ANN, day=1, hours=5)
    said(push, bot, ANN, day=1, hours=6)  # the same day again: counted once
    said(push, bot, BO, day=2)  # neither the next day nor day 7
    said(push, bot, ANN, day=7)
    drain()
    cohorts = {
        c.campaign: (c.new_users, c.retained_d1, c.retained_d7)
        for c in CohortDay.objects.filter(day=DAY0.replace(hour=0))
    }
    assert cohorts == {"ads": (1, 1, 1), "": (1, 0, 0)}


def test_it_retention_is_kept_across_batches(bot: Bot, push: Push) -> None:
    said(push, bot, ANN)
    drain()
    said(push, bot, ANN, day=1)
    drain()
    assert CohortDay.objects.get(day=DAY0.replace(hour=0)).retained_d1 == 1


def test_it_users_seen_before_cohorts_were_kept_count_as_active_not_as_retained(bot: Bot, push: Push) -> None:
    said(push, bot, ANN)
    drain()
    EndUser.objects.update(in_cohort=False)
    CohortDay.objects.all().delete()
    said(push, bot, ANN, day=1)
    drain()
    [row] = CohortDay.objects.all()
    assert (row.day, row.active_users, row.retained_d1) == ((DAY0 + timedelta(days=1)).replace(hour=0), 1, 0)


def test_it_the_retention_read_waits_for_a_day_to_end(bot: Bot, push: Push) -> None:
    said(push, bot, ANN)
    said(push, bot, BO)
    said(push, bot, ANN, day=1)
    drain()
    [cohort] = bot_retention(bot=bot, now=DAY0 + timedelta(days=1, hours=12))
    assert (cohort["new_users"], cohort["retained_d1"], cohort["d1_rate"]) == (2, 1, None)  # day 1 is not over
    [cohort] = bot_retention(bot=bot, now=DAY0 + timedelta(days=2))
    assert (cohort["d1_rate"], cohort["d7_rate"]) == (0.5, None)


def test_it_active_users_are_counted_over_a_day_a_week_and_a_month(bot: Bot, push: Push) -> None:
    said(push, bot, ANN, day=0)
    said(push, bot, BO, day=-10)
    push(bot, member_update({"id": 503, "is_bot": False, "first_name": "Cy"}, "kicked"), received_at=at(-40))
    drain()
    assert bot_audience(bot=bot, now=DAY0 + timedelta(hours=1)) == {"dau": 1, "wau": 1, "mau": 2, "blocked_users": 1}


def test_it_campaigns_show_new_and_active_users_and_retention(bot: Bot, push: Push) -> None:
    said(push, bot, ANN, "/start ads")
    said(push, bot, BO, "/start ads")
    said(push, bot, {"id": 503, "is_bot": False, "first_name": "Cy"}, "/start blog")
    said(push, bot, ANN, day=1)
    drain()
    rows = bot_campaigns(bot=bot, period="7d", now=DAY0 + timedelta(days=3))["campaigns"]
    assert [(r["campaign"], r["new_users"], r["active_users"], r["d1_rate"], r["d7_rate"]) for r in rows] == [
        ("ads", 2, 2, 0.5, None),
        ("blog", 1, 1, 0.0, None),
    ]


def test_it_the_stats_api_shows_blocks_audience_and_retention(owner: Party, bot: Bot, push: Push) -> None:
    now = datetime.now(tz=UTC).timestamp()
    push(bot, message(next(_ids), ANN), received_at=now)
    push(bot, member_update(ANN, "kicked"), received_at=now)
    drain()
    body = owner.api().get(f"/api/v1/bots/{bot.uuid}/stats/?period=7d").json()
    assert (body["totals"]["blocks"], body["totals"]["unblocks"]) == (1, 0)
    assert sum(point["blocks"] for point in body["series"]) == 1
    assert body["audience"] == {"dau": 1, "wau": 1, "mau": 1, "blocked_users": 1}
    assert [(c["new_users"], c["d1_rate"]) for c in body["retention"]] == [(1, None)]


def test_it_the_campaigns_api_lists_campaigns(owner: Party, bot: Bot, push: Push) -> None:
    push(bot, message(next(_ids), ANN, text="/start ads"), received_at=datetime.now(tz=UTC).timestamp())
    drain()
    body = owner.api().get(f"/api/v1/bots/{bot.uuid}/campaigns/?period=7d").json()
    assert [(c["campaign"], c["new_users"], c["active_users"]) for c in body["campaigns"]] == [("ads", 1, 1)]


def test_it_the_campaigns_api_refuses_an_unknown_period(owner: Party, bot: Bot) -> None:
    assert owner.api().get(f"/api/v1/bots/{bot.uuid}/campaigns/?period=1y").status_code == 400


def test_it_an_outsider_cannot_read_the_campaigns(outsider: Party, bot: Bot) -> None:
    assert outsider.api().get(f"/api/v1/bots/{bot.uuid}/campaigns/").status_code == 404


def test_it_the_bot_page_shows_the_audience_and_campaigns(owner: Party, bot: Bot, push: Push, client: Any) -> None:
    push(bot, message(next(_ids), ANN, text="/start ads"), received_at=datetime.now(tz=UTC).timestamp())
    push(bot, member_update(ANN, "kicked"), received_at=datetime.now(tz=UTC).timestamp())
    drain()
    client.force_login(owner.user)
    html = client.get(f"/bots/{bot.uuid}/").content.decode()
    assert "Have the bot blocked" in html
    assert "<code>ads</code>" in html
    assert f"https://t.me/{bot.username}?start=" in html


def test_it_the_stats_of_a_period_add_blocks_up(bot: Bot, push: Push) -> None:
    now = datetime.now(tz=UTC)
    push(bot, member_update(ANN, "kicked"), received_at=now.timestamp())
    push(bot, member_update(BO, "kicked"), received_at=(now - timedelta(days=3)).timestamp())
    drain()
    assert bot_stats(bot=bot, period="24h")["totals"]["blocks"] == 1
    assert bot_stats(bot=bot, period="30d")["totals"]["blocks"] == 2


# --- Mixpanel ---------------------------------------------------------------------------------
def test_it_mixpanel_gets_the_campaign_on_the_first_event_and_the_profile(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    now = datetime.now(tz=UTC).timestamp()
    push(bot, message(next(_ids), ANN, text="/start ads"), received_at=now)
    push(bot, message(next(_ids), ANN, text="again"), received_at=now)
    drain()
    assert [e["properties"].get("campaign") for e in collector.events] == ["ads", None]
    assert collector.profiles[0]["$set"]["campaign"] == "ads"


def test_it_mixpanel_gets_block_events_and_the_blocked_property(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    now = datetime.now(tz=UTC).timestamp()
    push(bot, message(next(_ids), ANN), received_at=now)
    push(bot, member_update(ANN, "kicked"), received_at=now + 1)
    push(bot, member_update(ANN, "member"), received_at=now + 2)
    drain()
    names = [e["event"] for e in collector.events]
    assert names == ["message", "my_chat_member", "blocked", "my_chat_member", "unblocked"]
    assert len({e["properties"]["$insert_id"] for e in collector.events}) == 5
    assert [p["$set"]["blocked"] for p in collector.profiles] == [False]  # one batch: the profile as it ends


def test_it_mixpanel_gets_the_profile_again_when_the_user_blocks(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    now = datetime.now(tz=UTC).timestamp()
    push(bot, message(next(_ids), ANN), received_at=now)
    drain()
    push(bot, member_update(ANN, "kicked"), received_at=now + 1)
    drain()
    assert [p["$set"]["blocked"] for p in collector.profiles] == [False, True]
