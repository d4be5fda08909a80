"""Nothing a user wrote survives the pipeline: not in the database, not in Mixpanel, not in logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from analytics import buffer, mixpanel_sink, services
from analytics.models import Delivery, MixpanelPending
from botpresto.bots.models import Bot
from botpresto.devtools.collector import MixpanelCollector
from tests.analytics.conftest import Push, drain
from tests.analytics.samples import MARK, updates

pytestmark = pytest.mark.django_db


def database_text() -> str:
    """Every row of every table, models and the cache table alike, as text."""
    rows: list[object] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.extend(cursor.fetchall())
    for model in apps.get_models():  # decoded values too (encrypted fields, JSON)
        rows.extend(model.objects.values())
    rows.extend(row.items_json for row in MixpanelPending.objects.all())  # compressed in the table
    return json.dumps(rows, default=str)


def redis_text() -> str:
    client = buffer.redis_client()
    if client is None:
        return ""
    return repr([(key, client.dump(key)) for key in client.scan_iter()])


def push_everything(bot: Bot, push: Push) -> None:
    for update in updates(MARK).values():
        push(bot, update, status=502, upstream_status=500, error="http_status")  # fails, then Telegram retries
        push(bot, update)
    push(bot, {"update_id": 1, "future_update_type": {"text": MARK}})
    push(bot, {"update_id": 2, "message": f"just a {MARK}"})
    push(bot, [MARK])


def test_it_the_marker_leaks_nowhere(
    bot: Bot, collector: MixpanelCollector, push: Push, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    collector.mode = "down"  # so batches also wait in the database for a retry
    push_everything(bot, push)
    assert MARK not in database_text() + redis_text()  # the records waiting in the buffer
    drain()
    assert Delivery.objects.filter(bot=bot).count() == 2 * len(updates()) + 3  # the delivery log was scanned too
    assert MARK not in database_text() + redis_text()
    collector.mode = "ok"
    services.mixpanel_send(now=timezone.now() + timedelta(minutes=5))
    assert len(collector.events) == len(updates()) + 1  # and "blocked": the my_chat_member blocks the bot
    assert MARK not in collector.all_text()
    assert MARK not in database_text() + redis_text()
    assert MARK not in caplog.text


def test_it_the_scan_would_see_the_marker_in_a_column(bot: Bot) -> None:
    bot.name = MARK
    bot.save()
    assert MARK in database_text()


def test_it_the_scan_would_see_the_marker_in_the_delivery_log(bot: Bot) -> None:
    Delivery.objects.create(bot=bot, received_at=timezone.now(), status=200, update_type=MARK)
    assert MARK in database_text()


def test_it_the_scan_would_see_the_marker_in_the_compressed_outbox(bot: Bot) -> None:
    event = {"event": "message", "properties": {"time": 1, "note": MARK}}
    mixpanel_sink.outbox_add(batches=[(bot.id, "events", [event])])
    assert MARK in database_text()


def test_it_the_scan_would_see_a_campaign_the_one_text_we_keep(bot: Bot, push: Push) -> None:
    push(
        bot,
        {
            "update_id": 3,
            "message": {
                "date": 1,
                "chat": {"id": 7, "type": "private"},
                "from": {"id": 7},
                "text": "/start campaign_ZQX",
            },
        },
    )
    drain()
    assert database_text().count("campaign_ZQX") >= 2  # the user's campaign and its cohort
