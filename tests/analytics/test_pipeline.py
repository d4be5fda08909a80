"""From pushed records to end users and hourly statistics, through the real drain task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from analytics import buffer, services
from analytics.models import BotDailyStats, BotHourlyStats, EndUser, PipelineCounter
from analytics.stats import latency_bucket
from botpresto.bots.models import Bot
from botpresto.bots.services import bot_delete
from tests.analytics.conftest import NOW, Push, drain, message
from tests.analytics.samples import GROUP, updates

pytestmark = pytest.mark.django_db

ANN = {"id": 501, "is_bot": False, "first_name": "Ann", "username": "ann", "language_code": "de", "is_premium": True}
BO = {"id": 502, "is_bot": False, "first_name": "Bo", "language_code": "pt-BR"}
HOUR = NOW - NOW % 3600


def member_update(update_id: int, user: dict, status: str, chat: dict | None = None) -> dict:
    chat = chat or {"id": user["id"], "type": "private"}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat,
            "from": user,
            "date": int(NOW),
            "old_chat_member": {"status": "member", "user": {"id": 9, "is_bot": True, "first_name": "b"}},
            "new_chat_member": {"status": status, "user": {"id": 9, "is_bot": True, "first_name": "b"}},
        },
    }


def stats(bot: Bot, hour: float = HOUR) -> BotHourlyStats:
    return BotHourlyStats.objects.get(bot=bot, hour=datetime.fromtimestamp(hour, tz=UTC))


def test_it_keeps_each_users_public_profile(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN))
    push(bot, message(2, BO))
    drain()
    ann = EndUser.objects.get(bot=bot, telegram_id=501)
    assert (ann.first_name, ann.username, ann.language_code, ann.is_premium) == ("Ann", "ann", "de", True)
    assert EndUser.objects.get(bot=bot, telegram_id=502).language_code == "pt-br"


def test_it_keeps_the_bots_time_of_last_update(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN), received_at=NOW - 5)
    push(bot, message(2, BO), received_at=NOW - 50)
    drain()
    assert Bot.objects.get(id=bot.id).last_update_at.timestamp() == pytest.approx(NOW - 5)  # type: ignore[union-attr]
    push(bot, message(3, ANN), received_at=NOW - 500)  # a late record does not move it back
    drain()
    assert Bot.objects.get(id=bot.id).last_update_at.timestamp() == pytest.approx(NOW - 5)  # type: ignore[union-attr]


def test_it_keeps_first_and_last_seen(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN), received_at=NOW - 50)
    drain()
    push(bot, message(2, {**ANN, "username": "ann2"}), received_at=NOW - 5)
    drain()
    ann = EndUser.objects.get(bot=bot, telegram_id=501)
    assert ann.first_seen.timestamp() == pytest.approx(NOW - 50)
    assert ann.last_seen.timestamp() == pytest.approx(NOW - 5)
    assert ann.username == "ann2"


def test_it_a_user_who_blocks_the_bot_is_marked_blocked(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN))
    push(bot, member_update(2, ANN, "kicked"))
    drain()
    assert EndUser.objects.get(bot=bot, telegram_id=501).blocked is True


def test_it_a_user_who_unblocks_the_bot_is_no_longer_blocked(bot: Bot, push: Push) -> None:
    push(bot, member_update(1, ANN, "kicked"))
    drain()
    push(bot, member_update(2, ANN, "member"))
    drain()
    assert EndUser.objects.get(bot=bot, telegram_id=501).blocked is False


def test_it_removing_the_bot_from_a_group_is_not_blocking_it(bot: Bot, push: Push) -> None:
    push(bot, member_update(1, ANN, "kicked", chat=GROUP))
    drain()
    assert EndUser.objects.get(bot=bot, telegram_id=501).blocked is False


def test_it_the_hour_counts_updates_by_type_chat_type_and_command(bot: Bot, push: Push) -> None:
    for kind in ("message", "callback_query", "inline_query", "channel_post"):
        push(bot, updates()[kind])
    drain()
    row = stats(bot)
    assert row.updates == 4
    assert row.by_type == {"message": 1, "callback_query": 1, "inline_query": 1, "channel_post": 1}
    assert row.chat_types == {"private": 1, "supergroup": 1, "sender": 1, "channel": 1}
    assert row.commands == {"start": 1}


def test_it_the_hour_counts_distinct_new_users_and_their_languages(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN))
    push(bot, message(2, ANN))
    push(bot, message(3, BO))
    drain()
    push(bot, message(4, ANN))
    drain()
    row = stats(bot)
    assert (row.users, row.new_users, row.day_users) == (2, 2, 2)
    assert row.languages == {"de": 1, "pt-br": 1}


def test_it_a_returning_user_counts_in_a_new_hour_but_not_as_new(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN), received_at=HOUR - 1800)
    drain()
    push(bot, message(2, ANN), received_at=HOUR + 1)
    drain()
    assert (stats(bot).users, stats(bot).new_users) == (1, 0)
    assert stats(bot, HOUR - 3600).new_users == 1


def test_it_failures_count_per_attempt_and_updates_per_update(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN), status=502, upstream_status=None, error="connect", latency_ms=3)
    push(bot, message(1, ANN), status=502, upstream_status=503, error="http_status", latency_ms=30)
    push(bot, message(1, ANN), latency_ms=300)
    drain()
    row = stats(bot)
    assert (row.updates, row.attempts, row.failures) == (1, 3, 2)
    assert row.failures_by_kind == {"connect": 1, "http_status": 1}
    assert [i for i, n in enumerate(row.latency) if n] == [latency_bucket(3), latency_bucket(30), latency_bucket(300)]


def test_it_malformed_and_unknown_updates_are_counted_as_skipped(bot: Bot, push: Push) -> None:
    push(bot, {"update_id": 5, "brand_new_type": {"x": 1}})
    push(bot, "not json at all")
    push(bot, message(1, ANN))
    drain()
    row = stats(bot)
    assert (row.skipped, row.updates, row.attempts) == (2, 1, 3)


def test_it_records_of_a_deleted_bot_are_counted_not_stored(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN))
    Bot.objects.filter(id=bot.id).delete()
    drain()
    assert PipelineCounter.objects.get(name=PipelineCounter.RECORDS_UNKNOWN_BOT).value == 1
    assert not EndUser.objects.exists()


def test_it_deleting_a_bot_deletes_its_end_users_and_statistics(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN))
    drain()
    bot.status = Bot.Status.DISCONNECTED  # its webhook is already restored
    bot_delete(bot=bot)
    assert not EndUser.objects.exists()
    assert not BotHourlyStats.objects.exists()
    assert not BotDailyStats.objects.exists()


def test_it_statistics_older_than_the_retention_period_are_pruned(bot: Bot, push: Push, settings) -> None:
    settings.ANALYTICS_RETENTION_DAYS = 30
    push(bot, message(1, ANN), received_at=NOW - 31 * 86400)
    push(bot, message(2, ANN))
    drain()
    services.stats_prune()
    assert BotHourlyStats.objects.get().hour > timezone.now() - timedelta(days=1)
    assert BotDailyStats.objects.get().day > timezone.now() - timedelta(days=2)


def test_it_does_not_wait_for_a_lock_a_killed_drain_left(bot: Bot, push: Push) -> None:
    push(bot, message(1, ANN))
    cache.add("an:drain:lock", "a drain killed long ago", timeout=130)  # what the drain lock used to leave
    assert services.records_drain() == 1
    assert stats(bot).updates == 1


def test_it_a_batch_waits_in_the_buffer_while_the_database_is_away(bot: Bot, push: Push, monkeypatch) -> None:
    from django.db import OperationalError

    def database_away(**kwargs: object) -> int:
        raise OperationalError("connection refused")

    push(bot, message(1, ANN))
    monkeypatch.setattr(services, "records_process", database_away)
    with pytest.raises(OperationalError):
        services.records_drain()
    assert buffer.buffer_length() == 1


def test_it_the_day_counts_each_user_once_across_its_hours(bot: Bot, push: Push) -> None:
    yesterday = NOW - NOW % 86400 - 86400
    push(bot, message(1, ANN), received_at=yesterday + 3600)
    push(bot, message(2, ANN), received_at=yesterday + 7200)
    push(bot, message(3, BO), received_at=yesterday + 7200)
    drain()
    day = BotDailyStats.objects.get(bot=bot)
    assert (day.updates, day.users, day.new_users) == (3, 2, 2)
    assert day.languages == {"de": 1, "pt-br": 1}
    assert sorted(BotHourlyStats.objects.values_list("users", flat=True)) == [1, 2]


def test_it_many_retried_updates_are_each_counted_once(bot: Bot, push: Push) -> None:
    for n in range(400):  # more than a database cache keeps by default
        push(bot, message(n, ANN), status=502, upstream_status=None, error="connect")
    drain()
    for n in range(400):
        push(bot, message(n, ANN))
    drain()
    assert (stats(bot).updates, stats(bot).attempts) == (400, 800)


def test_it_records_that_are_not_records_are_counted_as_invalid(bot: Bot, push: Push) -> None:
    for junk in ({"bot": str(bot.uuid)}, {"bot": "not-a-uuid", "received_at": NOW, "outcome": {"status": 200}}, [1]):
        buffer.record_push(junk)  # type: ignore[arg-type]
    buffer.record_push({"bot": str(bot.uuid), "received_at": float("nan"), "outcome": {"status": 200}})
    push(bot, message(1, ANN))
    drain()
    assert PipelineCounter.objects.get(name=PipelineCounter.RECORDS_INVALID).value == 4
    assert stats(bot).updates == 1
