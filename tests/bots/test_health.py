"""Webhook health against the Telegram stand-in: taken, broken and revoked webhooks; silent manual bots."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from botpresto.bots.health import webhook_health_check, webhook_health_due
from botpresto.bots.models import Bot, MaintenanceWindow
from botpresto.bots.services import bot_token_rotate
from botpresto.bots.states import bots_manual_refresh
from botpresto.bots.tasks import webhook_health_beat_task
from botpresto.core.telegram import telegram
from botpresto.devtools.standin import StandIn
from tests.bots.fleet import fleet_make
from tests.conftest import Party, alerts_send
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
MESSAGE = {"message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}}


@pytest.fixture(autouse=True)
def fast(settings: Any) -> None:
    settings.MAINTENANCE_CALLS_PER_SECOND = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True


def beat(settings: Any) -> None:
    """One beat run with a one-minute interval, so that every bot's turn is now."""
    settings.WEBHOOK_HEALTH_MINUTES = 1
    Bot.objects.update(webhook_checked_at=None)  # as if the interval had passed
    webhook_health_beat_task()


@pytest.fixture
def unreachable_proxy(settings: Any) -> None:
    """Our proxy's address, with nothing listening: Telegram's deliveries to us fail."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.PUBLIC_URL = f"http://127.0.0.1:{port}"


class Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def undelivered(standin: StandIn, bot: Bot, count: int = 3) -> None:
    standin.push_updates(str(bot.token), [MESSAGE] * count)
    standin.wait_for(lambda: standin.bot(str(bot.token)).last_error_message is not None)


def test_it_keeps_what_telegram_last_said_about_the_webhook(
    owner: Party, standin: StandIn, unreachable_proxy: None
) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    undelivered(standin, bot)
    webhook_health_check(bot=bot)
    bot.refresh_from_db()
    assert bot.webhook_info["pending_update_count"] == 3
    assert bot.webhook_info["last_error_message"]
    assert bot.webhook_info["last_error_date"] > 0
    assert bot.webhook_info["max_connections"] == bot.original_max_connections
    assert bot.webhook_checked_at is not None


def test_it_shows_staff_that_telegram_cannot_reach_us(
    owner: Party, standin: StandIn, unreachable_proxy: None, admin_client: Client
) -> None:
    broken, fine = fleet_make(standin, owner.tenant, 2, start=1)
    undelivered(standin, broken)
    assert webhook_health_check(bot=broken) == "delivery_problem"
    assert webhook_health_check(bot=fine) == "ok"
    page = admin_client.get("/admin/botpresto/bot/?delivery=failing").content.decode()
    assert f"@{broken.username}" in page
    assert f"@{fine.username}" not in page
    assert "failing since" in page


def test_it_does_not_blame_us_for_a_failing_owner_endpoint(
    owner: Party, standin: StandIn, unreachable_proxy: None
) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    Bot.objects.filter(id=bot.id).update(endpoint_failing_since=timezone.now())  # the proxy saw the endpoint fail
    undelivered(standin, bot)
    assert webhook_health_check(bot=Bot.objects.get(id=bot.id)) == "ok"
    assert Bot.objects.get(id=bot.id).delivery_problem_since is None


def test_it_clears_the_delivery_problem_once_updates_flow(
    owner: Party, standin: StandIn, unreachable_proxy: None, settings: Any
) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    undelivered(standin, bot)
    assert webhook_health_check(bot=bot) == "delivery_problem"
    port = int(settings.PUBLIC_URL.rsplit(":", 1)[1])
    with HTTPServer(("127.0.0.1", port), Ok) as proxy:  # we are back
        threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        standin.wait_idle(str(bot.token))
        proxy.shutdown()
    assert webhook_health_check(bot=Bot.objects.get(id=bot.id)) == "ok"
    assert Bot.objects.get(id=bot.id).delivery_problem_since is None


def test_it_marks_a_webhook_someone_else_took(owner: Party, standin: StandIn) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    telegram.set_webhook(str(bot.token), url="https://dev-laptop.example.com/hook")
    assert webhook_health_check(bot=bot) == "webhook_changed"
    assert Bot.objects.get(id=bot.id).status == Bot.Status.WEBHOOK_CHANGED


def test_it_does_not_fight_over_a_taken_webhook(owner: Party, standin: StandIn, settings: Any) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    telegram.set_webhook(str(bot.token), url="https://dev-laptop.example.com/hook")
    standin.clear_calls()
    beat(settings)
    beat(settings)
    assert [c.method for c in standin.calls()] == ["getWebhookInfo"]
    assert standin.bot(str(bot.token)).webhook_url == "https://dev-laptop.example.com/hook"


def test_it_tells_the_owner_once_that_the_webhook_was_taken(owner: Party, standin: StandIn, settings: Any) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    telegram.set_webhook(str(bot.token), url="https://dev-laptop.example.com/hook")
    beat(settings)
    beat(settings)
    outbox = alerts_send()
    assert [m.to for m in outbox] == [["alice@example.com"]]
    body = outbox[0].body
    assert "only one webhook" in body
    assert "development copy" in body
    assert "dev-laptop" not in body
    assert str(bot.token) not in body


def test_it_marks_a_revoked_token_and_asks_the_owner_once_for_a_new_one(
    owner: Party, standin: StandIn, settings: Any
) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    standin.revoke(str(bot.token))
    beat(settings)
    beat(settings)
    assert Bot.objects.get(id=bot.id).status == Bot.Status.TOKEN_REVOKED
    outbox = alerts_send()
    assert len(outbox) == 1
    assert "Paste the current token" in outbox[0].body


def test_it_a_new_token_brings_a_revoked_bot_back(owner: Party, standin: StandIn) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    new_token = standin.rotate_token(str(bot.token))
    webhook_health_check(bot=bot)
    bot_token_rotate(bot=Bot.objects.get(id=bot.id), new_token=new_token)
    bot.refresh_from_db()
    assert bot.status == Bot.Status.ACTIVE
    assert standin.bot(new_token).secret_token == bot.proxy_secret


def test_it_the_beat_checks_every_connected_token_bot(owner: Party, standin: StandIn, settings: Any) -> None:
    bots = fleet_make(standin, owner.tenant, 6, start=1)
    bot_make(owner.tenant, mode=Bot.Mode.MANUAL, token=None, status=Bot.Status.WAITING)
    settings.WEBHOOK_HEALTH_MINUTES = 1
    webhook_health_beat_task()
    assert sorted(c.token for c in standin.calls(method="getWebhookInfo")) == sorted(str(b.token) for b in bots)
    assert not Bot.objects.filter(mode=Bot.Mode.TOKEN, webhook_checked_at__isnull=True).exists()


def test_it_checks_are_spread_evenly_over_the_interval(owner: Party, settings: Any) -> None:
    settings.WEBHOOK_HEALTH_MINUTES = 5
    ids = {bot_make(owner.tenant).id for _ in range(300)}
    start = timezone.now().replace(second=0, microsecond=0)
    slices = [webhook_health_due(now=start + timedelta(minutes=m)) for m in range(5)]
    assert [len(s) for s in slices] == [60] * 5
    assert sorted(i for s in slices for i in s) == sorted(ids)


def test_it_a_bot_checked_moments_ago_waits_for_its_next_turn(owner: Party, settings: Any) -> None:
    settings.WEBHOOK_HEALTH_MINUTES = 1
    bot_make(owner.tenant, webhook_checked_at=timezone.now())
    assert webhook_health_due() == []


def test_it_checks_pause_while_bots_are_being_bypassed(owner: Party, settings: Any) -> None:
    settings.WEBHOOK_HEALTH_MINUTES = 1
    bot_make(owner.tenant)
    now = timezone.now()
    MaintenanceWindow.objects.create(starts_at=now, ends_at=now + timedelta(hours=1), reason="x", state="bypassing")
    assert webhook_health_due() == []


@pytest.mark.parametrize(
    ("before", "last_update", "after"),
    [
        (Bot.Status.ACTIVE, None, Bot.Status.WAITING),
        (Bot.Status.ACTIVE, timedelta(hours=30), Bot.Status.SILENT),
        (Bot.Status.WAITING, timedelta(hours=30), Bot.Status.SILENT),
        (Bot.Status.SILENT, timedelta(minutes=5), Bot.Status.ACTIVE),
        (Bot.Status.WAITING, timedelta(minutes=5), Bot.Status.ACTIVE),
    ],
)
def test_it_a_manual_bot_shows_whether_updates_arrive(
    owner: Party, settings: Any, before: str, last_update: timedelta | None, after: str
) -> None:
    settings.MANUAL_SILENT_HOURS = 24
    now = timezone.now()
    bot = bot_make(
        owner.tenant,
        mode=Bot.Mode.MANUAL,
        token=None,
        status=before,
        last_update_at=None if last_update is None else now - last_update,
    )
    bots_manual_refresh(now=now)
    assert Bot.objects.get(id=bot.id).status == after


def test_it_a_disconnected_manual_bot_stays_disconnected(owner: Party) -> None:
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, token=None, status=Bot.Status.DISCONNECTED)
    bots_manual_refresh()
    assert Bot.objects.get(id=bot.id).status == Bot.Status.DISCONNECTED
