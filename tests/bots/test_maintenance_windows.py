"""Planning a window: advance notices, the beat tick, the banner, the admin pages and actions."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from botpresto.bots.maintenance import maintenance_tick
from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow
from botpresto.core.throttle import throttle_acquire, throttle_pause
from botpresto.devtools.standin import StandIn
from tests.bots.fleet import fleet_make
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
W = MaintenanceWindow.State


@pytest.fixture(autouse=True)
def fast(settings: Any) -> None:
    settings.MAINTENANCE_CALLS_PER_SECOND = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True


def window_make(starts_in: timedelta, hours: float = 2, **fields: Any) -> MaintenanceWindow:
    starts_at = timezone.now() + starts_in
    return MaintenanceWindow.objects.create(
        starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), reason="Database upgrade", **fields
    )


def tick(capture: Any) -> None:
    with capture(execute=True):
        maintenance_tick()


def test_it_emails_token_mode_owners_in_advance(owner: Party, django_capture_on_commit_callbacks: Any) -> None:
    bot_make(owner.tenant, username="shop_bot")
    window_make(timedelta(hours=23))
    tick(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    body = mail.outbox[0].body
    assert "@shop_bot" in body
    assert "Database upgrade" in body
    assert "straight back at your own endpoints" in body


def test_it_tells_manual_mode_owners_their_updates_will_wait(
    outsider: Party, django_capture_on_commit_callbacks: Any
) -> None:
    bot_make(outsider.tenant, mode=Bot.Mode.MANUAL, status=Bot.Status.ACTIVE, username="hand_bot", token=None)
    window_make(timedelta(hours=1))
    tick(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["eve@example.com"]]
    assert "Telegram keeps them (for up to 24 hours)" in mail.outbox[0].body
    assert "straight back at your own endpoints" not in mail.outbox[0].body


def test_it_sends_the_advance_notice_once(owner: Party, django_capture_on_commit_callbacks: Any) -> None:
    bot_make(owner.tenant)
    window_make(timedelta(hours=3))
    tick(django_capture_on_commit_callbacks)
    tick(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_it_does_not_notify_before_the_lead_time(
    owner: Party, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MAINTENANCE_NOTICE_HOURS = 24
    bot_make(owner.tenant)
    window_make(timedelta(hours=25))
    tick(django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_it_does_not_email_members_who_are_not_owners(
    owner: Party, member: Party, django_capture_on_commit_callbacks: Any
) -> None:
    bot_make(owner.tenant)
    window_make(timedelta(hours=1))
    tick(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_it_the_tick_bypasses_when_the_window_starts_and_reconnects_when_it_ends(
    owner: Party, standin: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    fleet_make(standin, owner.tenant, 5, start=1)
    window = window_make(timedelta(minutes=-1))
    tick(django_capture_on_commit_callbacks)
    window.refresh_from_db()
    assert window.state == W.BYPASSED
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.BYPASSED}
    MaintenanceWindow.objects.filter(id=window.id).update(ends_at=timezone.now())
    tick(django_capture_on_commit_callbacks)
    window.refresh_from_db()
    assert window.state == W.DONE
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.ACTIVE}


def test_it_the_tick_hands_a_stalled_job_to_new_tasks(
    owner: Party, standin: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    fleet_make(standin, owner.tenant, 3, start=1)
    window = window_make(timedelta(minutes=-5), state=W.BYPASSING)
    long_ago = timezone.now() - timedelta(minutes=10)
    for bot in Bot.objects.all():  # rows whose tasks were lost with a broker
        MaintenanceSwitch.objects.create(window=window, bot=bot, direction="bypass", updated_at=long_ago)
    tick(django_capture_on_commit_callbacks)
    window.refresh_from_db()
    assert window.state == W.BYPASSED
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.BYPASSED}


def test_it_the_banner_shows_a_coming_window_to_signed_in_owners(owner: Party, client: Client) -> None:
    window_make(timedelta(hours=2))
    client.force_login(owner.user)
    page = client.get("/bots/").content.decode()
    assert "Planned maintenance" in page
    assert "Database upgrade" in page


def test_it_the_banner_shows_a_window_under_way(owner: Party, client: Client) -> None:
    window_make(timedelta(hours=-1), state=W.BYPASSED)
    client.force_login(owner.user)
    assert "Maintenance under way" in client.get("/bots/").content.decode()


def test_it_the_banner_is_hidden_when_no_window_is_near(owner: Party, client: Client) -> None:
    window_make(timedelta(days=3))
    window_make(timedelta(hours=-5), state=W.DONE)
    client.force_login(owner.user)
    assert 'class="banner"' not in client.get("/bots/").content.decode()


def admin_act(client: Client, capture: Any, window: MaintenanceWindow, action: str) -> None:
    with capture(execute=True):
        client.post("/admin/botpresto/maintenancewindow/", {"action": action, "_selected_action": [window.id]})
    window.refresh_from_db()


def test_it_the_admin_shows_the_progress_with_reasons(
    owner: Party, standin: StandIn, admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    bots = fleet_make(standin, owner.tenant, 4, start=1)
    standin.revoke(str(bots[0].token))
    window = window_make(timedelta(hours=1))
    admin_act(admin_client, django_capture_on_commit_callbacks, window, "start_now")
    listing = admin_client.get("/admin/botpresto/maintenancewindow/").content.decode()
    assert "3 done, 0 left, 0 failed, 1 skipped" in listing
    page = admin_client.get(f"/admin/botpresto/maintenancewindow/{window.id}/change/").content.decode()
    assert "1 skipped: token revoked" in page
    assert str(bots[0].token) not in page


def test_it_the_admin_starts_a_window_now(
    owner: Party, standin: StandIn, admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    fleet_make(standin, owner.tenant, 3, start=1)
    window = window_make(timedelta(hours=5))
    admin_act(admin_client, django_capture_on_commit_callbacks, window, "start_now")
    assert window.state == W.BYPASSED
    assert window.starts_at <= timezone.now()
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.BYPASSED}


def test_it_the_admin_ends_a_window_now(
    owner: Party, standin: StandIn, admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    fleet_make(standin, owner.tenant, 3, start=1)
    window = window_make(timedelta(minutes=-1), hours=5)
    admin_act(admin_client, django_capture_on_commit_callbacks, window, "start_now")
    admin_act(admin_client, django_capture_on_commit_callbacks, window, "end_now")
    assert window.state == W.DONE
    assert window.ends_at <= timezone.now()
    assert MaintenanceSwitch.objects.filter(direction="reconnect", state="done").count() == 3
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.ACTIVE}


def test_it_the_admin_refuses_a_window_that_ends_before_it_starts(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/botpresto/maintenancewindow/add/",
        {
            "starts_at_0": "2030-01-02",
            "starts_at_1": "10:00",
            "ends_at_0": "2030-01-02",
            "ends_at_1": "09:00",
            "reason": "x",
        },
    )
    assert "must end after it starts" in response.content.decode()
    assert not MaintenanceWindow.objects.exists()


def test_it_staff_bypass_and_reconnect_selected_bots(
    owner: Party, standin: StandIn, admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    chosen, other = fleet_make(standin, owner.tenant, 2, start=1)
    with django_capture_on_commit_callbacks(execute=True):  # the job's task runs once the job is saved
        admin_client.post("/admin/botpresto/bot/", {"action": "bypass_selected", "_selected_action": [chosen.id]})
    assert standin.bot(str(chosen.token)).webhook_url == chosen.original_url
    assert Bot.objects.get(id=other.id).status == Bot.Status.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/botpresto/bot/", {"action": "reconnect_selected", "_selected_action": [chosen.id]})
    chosen.refresh_from_db()
    assert chosen.status == Bot.Status.ACTIVE
    assert standin.bot(str(chosen.token)).webhook_url == chosen.proxy_url


def test_it_the_throttle_keeps_to_the_rate() -> None:
    started = time.monotonic()
    for _ in range(12):
        throttle_acquire(bucket="test", rate=20)  # two calls per 0.1 s slot: 12 calls span at least 5 slots
    assert time.monotonic() - started >= 0.4


def test_it_the_throttle_waits_out_a_pause() -> None:
    throttle_pause(bucket="test", seconds=0.3)
    started = time.monotonic()
    throttle_acquire(bucket="test", rate=1000)
    assert time.monotonic() - started >= 0.25
