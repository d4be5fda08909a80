"""Events and profiles, over real HTTP into a local Mixpanel collector, through the official library."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from analytics import services
from analytics.extract import UPDATE_TYPES
from analytics.mixpanel_sink import insert_id
from analytics.models import BotHourlyStats, MixpanelPending, PipelineCounter
from analytics.tasks import analytics_drain_task
from botpresto.bots.models import Bot
from botpresto.devtools.collector import MixpanelCollector
from tests.analytics.conftest import MIXPANEL_TOKEN, Push, drain, message
from tests.analytics.samples import DATE, USER, USER2, updates
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db

ANN = {"id": 501, "first_name": "Ann", "last_name": "Lee", "username": "ann", "language_code": "de"}


def retry_later(minutes: int = 10) -> None:
    services.mixpanel_send(now=timezone.now() + timedelta(minutes=minutes))


def test_it_sends_one_event_per_update_type_named_after_it(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    for update in updates().values():
        push(bot, update)
    drain()
    # and one "blocked": the sample my_chat_member is the user blocking the bot
    assert sorted(e["event"] for e in collector.events) == sorted([*UPDATE_TYPES, "blocked"])


def test_it_an_event_carries_the_token_user_time_and_a_stable_insert_id(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    push(bot, updates()["message"], latency_ms=42.5)
    drain()
    (event,) = collector.events
    props = event["properties"]
    assert props["token"] == MIXPANEL_TOKEN
    assert props["distinct_id"] == str(USER["id"])
    assert props["time"] == DATE
    assert props["$insert_id"] == insert_id(str(bot.uuid), 1001)


def test_it_an_event_carries_the_metadata_and_the_delivery_outcome(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    push(bot, updates()["message"], latency_ms=42.5)
    drain()
    props = collector.events[0]["properties"]
    assert collector.events[0]["event"] == "message"
    assert props["content"] == "text"
    assert props["command"] == "start"
    assert props["chat_type"] == "private"
    assert props["language"] == "de"
    assert props["is_premium"] is True
    assert props["delivery_status"] == 200
    assert props["latency_ms"] == 42.5
    assert "delivery_error" not in props


def test_it_an_update_without_a_date_is_timed_when_it_arrived(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    arrived = round(time.time(), 2) - 1.5
    push(bot, updates()["callback_query"], received_at=arrived)
    drain()
    assert collector.events[0]["properties"]["time"] == arrived
    assert collector.events[0]["properties"]["distinct_id"] == str(USER2["id"])


def test_it_an_update_without_a_user_is_not_attributed_to_anyone(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    push(bot, updates()["channel_post"])
    drain()
    assert collector.events[0]["properties"]["distinct_id"] == ""
    assert collector.profiles == []


def test_it_a_new_user_gets_a_profile(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    push(bot, message(1, ANN))
    drain()
    assert collector.profiles == [
        {
            "$token": MIXPANEL_TOKEN,
            "$distinct_id": "501",
            "$ip": 0,
            "$set": {
                "$first_name": "Ann",
                "$last_name": "Lee",
                "$name": "Ann Lee",
                "username": "ann",
                "language": "de",
                "is_premium": False,
                "blocked": False,
            },
        }
    ]


def test_it_an_unchanged_user_gets_no_second_profile(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    push(bot, message(1, ANN))
    drain()
    push(bot, message(2, ANN))
    drain()
    assert len(collector.events) == 2
    assert len(collector.profiles) == 1


def test_it_a_changed_user_gets_the_profile_again(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    push(bot, message(1, ANN))
    drain()
    push(bot, message(2, {**ANN, "username": "ann_new"}))
    drain()
    assert [p["$set"]["username"] for p in collector.profiles] == ["ann", "ann_new"]


def test_it_each_user_of_the_table_gets_a_profile(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    for update in updates().values():
        push(bot, update)
    drain()
    assert sorted(p["$distinct_id"] for p in collector.profiles) == sorted([str(USER["id"]), str(USER2["id"])])


def test_it_a_retried_update_is_one_event(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    update = message(7, ANN)
    push(bot, update, status=502, upstream_status=None, error="connect")
    push(bot, update, status=504, upstream_status=None, error="timeout")
    push(bot, update)
    drain()
    assert len(collector.events) == 1


def test_it_a_retry_in_a_later_batch_is_not_sent_again(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    push(bot, message(7, ANN), status=502, upstream_status=500, error="http_status")
    drain()
    push(bot, message(7, ANN))
    drain()
    assert len(collector.events) == 1


def test_it_batches_are_as_large_as_mixpanel_takes(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    for n in range(2500):
        push(bot, message(n, {**ANN, "id": 10_000 + n % 5}))
    drain()
    assert sorted(n for path, n in collector.requests if path == "/track") == [500, 2000]
    assert len({e["properties"]["$insert_id"] for e in collector.events}) == 2500


def test_it_a_bot_without_a_mixpanel_token_sends_nothing_but_gets_statistics(
    bot_without_mixpanel: Bot, collector: MixpanelCollector, push: Push
) -> None:
    push(bot_without_mixpanel, message(1, ANN))
    drain()
    assert collector.requests == []
    assert BotHourlyStats.objects.get(bot=bot_without_mixpanel).updates == 1


def test_it_nothing_is_lost_while_mixpanel_is_down_within_the_bound(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    collector.mode = "down"
    for n in range(8):
        push(bot, message(n, ANN))
    drain()
    assert collector.events == []
    collector.mode = "ok"
    retry_later()
    assert sorted(e["properties"]["update_id"] for e in collector.events) == list(range(8))
    assert len(collector.profiles) == 1
    assert not MixpanelPending.objects.exists()


def test_it_beyond_the_bound_it_counts_what_it_drops(
    bot: Bot, collector: MixpanelCollector, push: Push, settings: Settings
) -> None:
    settings.ANALYTICS_MIXPANEL_BUFFER_MAX = 6
    collector.mode = "down"
    for n in range(8):
        push(bot, message(n, ANN))
    drain()
    collector.mode = "ok"
    retry_later()
    assert len(collector.events) == 6
    assert PipelineCounter.objects.get(name=PipelineCounter.MIXPANEL_DROPPED).value == 3  # 2 events, 1 profile
    assert BotHourlyStats.objects.get(bot=bot).mixpanel_dropped == 3


def test_it_a_hanging_mixpanel_does_not_hold_up_the_drain(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    collector.mode, collector.hang_seconds = "hang", 2.0
    push(bot, message(1, ANN))
    started = time.monotonic()
    analytics_drain_task.apply().get()
    assert time.monotonic() - started < 1
    assert BotHourlyStats.objects.get(bot=bot).updates == 1


def test_it_a_send_stops_calling_mixpanel_once_it_is_unreachable(
    bot: Bot, collector: MixpanelCollector, push: Push, owner: Party, settings: Settings
) -> None:
    settings.ANALYTICS_MIXPANEL_CONCURRENCY = 1
    other = bot_make(owner.tenant, mixpanel_token=MIXPANEL_TOKEN)
    collector.mode, collector.hang_seconds = "hang", 1.0
    push(bot, message(1, ANN))
    push(other, message(1, ANN))
    drain()
    assert collector.posts == 1
    assert MixpanelPending.objects.count() == 4  # events and profiles of two bots, all kept
    assert not MixpanelPending.objects.filter(next_attempt_at__lte=timezone.now()).exists()


def test_it_a_failed_retry_waits_longer_each_time(bot: Bot, collector: MixpanelCollector, push: Push) -> None:
    collector.mode = "refuse"
    push(bot, message(1, ANN))
    drain()
    first = MixpanelPending.objects.get(endpoint="events").next_attempt_at
    retry_later()
    pending = MixpanelPending.objects.get(endpoint="events")
    assert pending.attempts == 2
    assert pending.next_attempt_at - (timezone.now() + timedelta(minutes=10)) > first - timezone.now()


def test_it_what_waits_longer_than_mixpanel_takes_events_is_dropped_and_counted(
    bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    collector.mode = "down"
    push(bot, message(1, ANN))
    drain()
    collector.mode = "ok"
    retry_later(minutes=6 * 24 * 60)
    assert collector.events == []
    assert PipelineCounter.objects.get(name=PipelineCounter.MIXPANEL_DROPPED).value == 2  # the event and the profile
