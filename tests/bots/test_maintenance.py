"""Maintenance bypass and reconnect against the Telegram stand-in over HTTP."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from botpresto.bots.maintenance import maintenance_end, maintenance_run, maintenance_start
from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow
from botpresto.bots.selectors import maintenance_progress
from botpresto.bots.services import webhook_restore
from botpresto.core.telegram import telegram
from botpresto.devtools.standin import StandIn
from tests.bots.fleet import fleet_make, original_of, webhook_of
from tests.conftest import Party, alerts_send

pytestmark = pytest.mark.django_db
SWITCHES = ("setwebhook", "deletewebhook")
D = MaintenanceSwitch.Direction


@pytest.fixture(autouse=True)
def fast(settings: Any) -> None:
    settings.MAINTENANCE_CALLS_PER_SECOND = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True


def switches(standin: StandIn) -> Counter[str]:
    """Successful webhook changes per token, as Telegram saw them."""
    return Counter(c.token for c in standin.calls() if c.method.lower() in SWITCHES and c.error_code is None)


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def window_make(**fields: Any) -> MaintenanceWindow:
    now = timezone.now()
    defaults: dict[str, Any] = {"starts_at": now, "ends_at": now + timedelta(hours=1), "reason": "Database upgrade"}
    return MaintenanceWindow.objects.create(**{**defaults, **fields})


def test_it_bypass_restores_every_bots_original_webhook_field_by_field(
    owner: Party, standin: StandIn, django_capture_on_commit_callbacks: Any
) -> None:
    bots = fleet_make(standin, owner.tenant, 300)
    window = window_make()
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_start(window=window)
    assert [bot.username for bot in bots if webhook_of(standin, bot) != original_of(bot)] == []
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.BYPASSED}
    window.refresh_from_db()
    assert window.state == MaintenanceWindow.State.BYPASSED


def test_it_deletes_the_webhook_of_a_bot_that_had_none(owner: Party, standin: StandIn) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=0)
    assert bot.original_url == ""
    run("maintenance_bypass")
    assert standin.bot(str(bot.token)).webhook_url == ""
    assert [c.method for c in standin.calls(str(bot.token)) if c.method.lower() in SWITCHES] == ["deleteWebhook"]


def test_it_reconnect_points_every_bot_back_at_the_proxy_with_a_fresh_secret(owner: Party, standin: StandIn) -> None:
    bots = fleet_make(standin, owner.tenant, 300)
    old_secrets = {bot.id: str(bot.proxy_secret) for bot in bots}
    run("maintenance_bypass")
    run("maintenance_reconnect")
    wrong = []
    for bot in Bot.objects.all():
        state = standin.bot(str(bot.token))
        ours = state.webhook_url == bot.proxy_url and state.secret_token == bot.proxy_secret != old_secrets[bot.id]
        if not ours or bot.status != Bot.Status.ACTIVE or state.max_connections != (bot.original_max_connections or 40):
            wrong.append(bot.username)
    assert wrong == []
    assert MaintenanceWindow.objects.get().state == MaintenanceWindow.State.DONE


def test_it_killed_half_way_the_bypass_finishes_with_each_bot_switched_once(owner: Party, standin: StandIn) -> None:
    bots = fleet_make(standin, owner.tenant, 300)
    run("maintenance_bypass", "--limit", "120")
    progress = maintenance_progress(window=MaintenanceWindow.objects.get())[D.BYPASS]
    assert (progress.done, progress.left) == (120, 180)
    run("maintenance_bypass")
    assert switches(standin) == {str(bot.token): 1 for bot in bots}


def test_it_killed_half_way_the_reconnect_finishes_with_each_bot_switched_once(owner: Party, standin: StandIn) -> None:
    bots = fleet_make(standin, owner.tenant, 300)
    run("maintenance_bypass")
    standin.clear_calls()
    run("maintenance_reconnect", "--limit", "100")
    run("maintenance_reconnect")
    assert switches(standin) == {str(bot.token): 1 for bot in bots}
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.ACTIVE}


def test_it_running_a_finished_bypass_again_changes_nothing(owner: Party, standin: StandIn) -> None:
    fleet_make(standin, owner.tenant, 20)
    run("maintenance_bypass")
    standin.clear_calls()
    run("maintenance_bypass")
    assert switches(standin) == Counter()


def test_it_finishes_a_bot_whose_worker_died_after_switching_it_without_switching_again(
    owner: Party, standin: StandIn
) -> None:
    bots = fleet_make(standin, owner.tenant, 2, start=1)
    window = maintenance_start(window=window_make())
    webhook_restore(bot=bots[0])  # the switch happened, then the worker died before recording it
    row = MaintenanceSwitch.objects.get(bot=bots[0])
    long_ago = timezone.now() - timedelta(minutes=10)
    MaintenanceSwitch.objects.filter(id=row.id).update(state="running", attempts=1, updated_at=long_ago)
    standin.clear_calls()
    maintenance_run(window=window, direction=D.BYPASS)
    assert switches(standin) == {str(bots[1].token): 1}
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("done", 2)
    assert Bot.objects.get(id=bots[0].id).status == Bot.Status.BYPASSED


def test_it_does_not_take_back_a_bot_changed_during_the_window(owner: Party, standin: StandIn) -> None:
    changed, kept = fleet_make(standin, owner.tenant, 2, start=1)
    run("maintenance_bypass")
    telegram.set_webhook(str(changed.token), url="https://elsewhere.example.com/new")  # the owner, meanwhile
    run("maintenance_reconnect")
    assert standin.bot(str(changed.token)).webhook_url == "https://elsewhere.example.com/new"
    assert Bot.objects.get(id=changed.id).status == Bot.Status.WEBHOOK_CHANGED
    assert Bot.objects.get(id=kept.id).status == Bot.Status.ACTIVE
    row = MaintenanceSwitch.objects.get(bot=changed, direction=D.RECONNECT)
    assert row.state == "skipped"
    assert "webhook changed" in row.reason


def test_it_tells_the_owner_once_about_a_bot_changed_during_the_window(owner: Party, standin: StandIn) -> None:
    (changed,) = fleet_make(standin, owner.tenant, 1, start=1)
    run("maintenance_bypass")
    telegram.set_webhook(str(changed.token), url="https://elsewhere.example.com/new")
    alerts_send()
    mail.outbox.clear()
    run("maintenance_reconnect")
    run("maintenance_reconnect")
    outbox = alerts_send()
    assert [m.to for m in outbox] == [["alice@example.com"]]
    body = outbox[0].body
    assert f"@{changed.username}" in body
    assert f"/bots/{changed.uuid}/" in body  # the page with the one-click reconnect
    assert str(changed.token) not in body
    assert str(changed.proxy_secret) not in body
    assert "elsewhere.example.com" not in body


def test_it_one_click_reconnect_adopts_the_webhook_set_during_the_window(owner: Party, standin: StandIn) -> None:
    (changed,) = fleet_make(standin, owner.tenant, 1, start=1)
    run("maintenance_bypass")
    telegram.set_webhook(str(changed.token), url="https://elsewhere.example.com/new")
    run("maintenance_reconnect")
    response = owner.api().post(f"/api/v1/bots/{changed.uuid}/reconnect/", {"adopt_current_webhook": True})
    assert response.json()["status"] == "active"
    bot = Bot.objects.get(id=changed.id)
    assert (bot.original_url, bot.upstream_url) == ("https://elsewhere.example.com/new",) * 2
    assert standin.bot(str(bot.token)).webhook_url == bot.proxy_url


def test_it_429s_slow_the_bypass_down_without_losing_a_bot(owner: Party, standin: StandIn) -> None:
    bots = fleet_make(standin, owner.tenant, 30, start=1)
    for bot in bots[:2]:
        standin.rate_limit(str(bot.token), "setWebhook", retry_after=1, count=1)
    started = time.monotonic()
    run("maintenance_bypass")
    assert time.monotonic() - started >= 2  # each retry_after was waited out
    assert switches(standin) == {str(bot.token): 1 for bot in bots}
    assert len([c for c in standin.calls() if c.error_code == 429]) == 2
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.BYPASSED}


def test_it_skips_and_reports_a_bot_whose_token_was_revoked(owner: Party, standin: StandIn) -> None:
    revoked, fine = fleet_make(standin, owner.tenant, 2, start=1)
    standin.revoke(str(revoked.token))
    out = run("maintenance_bypass")
    row = MaintenanceSwitch.objects.get(bot=revoked)
    assert (row.state, row.attempts) == ("skipped", 1)
    assert "token revoked" in row.reason
    assert "1 skipped: token revoked" in out
    assert Bot.objects.get(id=revoked.id).status == Bot.Status.TOKEN_REVOKED
    assert Bot.objects.get(id=fine.id).status == Bot.Status.BYPASSED


def test_it_does_not_retry_a_revoked_bot_and_tells_its_owner_once(owner: Party, standin: StandIn) -> None:
    (revoked,) = fleet_make(standin, owner.tenant, 1, start=1)
    standin.revoke(str(revoked.token))
    alerts_send()
    mail.outbox.clear()
    run("maintenance_bypass")
    run("maintenance_bypass")
    assert len(standin.calls(str(revoked.token))) == 1
    notices = [m for m in alerts_send() if "token" in m.subject]
    assert len(notices) == 1
    assert "Paste the current token" in notices[0].body
    assert str(revoked.token) not in notices[0].body


def test_it_dry_run_of_the_bypass_changes_nothing(owner: Party, standin: StandIn) -> None:
    bots = fleet_make(standin, owner.tenant, 5, start=1)
    out = run("maintenance_bypass", "--dry-run")
    assert switches(standin) == Counter()
    assert not MaintenanceWindow.objects.exists()
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.ACTIVE}
    assert all(f"@{bot.username}: proxy → its original webhook on owner" in out for bot in bots)
    assert "5 bots would be bypassed" in out
    assert "/hook" not in out  # the path may carry a secret


def test_it_dry_run_of_the_reconnect_changes_nothing(owner: Party, standin: StandIn) -> None:
    fleet_make(standin, owner.tenant, 5, start=1)
    run("maintenance_bypass")
    standin.clear_calls()
    out = run("maintenance_reconnect", "--dry-run")
    assert switches(standin) == Counter()
    assert MaintenanceWindow.objects.get().state == MaintenanceWindow.State.BYPASSED
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.BYPASSED}
    assert "5 bots would be reconnected" in out


def test_it_the_command_exits_non_zero_when_a_bot_failed(owner: Party, standin: StandIn) -> None:
    broken, _ = fleet_make(standin, owner.tenant, 2, start=1)
    broken.original_url = "https://owner.example.com:99999/hook"  # Telegram refuses it
    broken.save()
    with pytest.raises(CommandError) as failed:
        run("maintenance_bypass")
    assert failed.value.returncode == 1
    row = MaintenanceSwitch.objects.get(bot=broken)
    assert row.state == "failed"
    assert "invalid webhook URL" in row.reason


def test_it_ending_a_window_mid_bypass_reconnects_only_what_was_bypassed(owner: Party, standin: StandIn) -> None:
    bots = fleet_make(standin, owner.tenant, 10, start=1)
    window = maintenance_start(window=window_make())
    maintenance_run(window=window, direction=D.BYPASS, max_bots=4)
    window = maintenance_end(window=window)
    maintenance_run(window=window, direction=D.RECONNECT)
    assert set(Bot.objects.values_list("status", flat=True)) == {Bot.Status.ACTIVE}
    assert switches(standin) == {str(bot.token): 2 for bot in bots[:4]}
    progress = maintenance_progress(window=window)
    assert (progress[D.BYPASS].done, progress[D.BYPASS].skipped, progress[D.RECONNECT].done) == (4, 6, 4)


def use_broker(app: Any, url: str) -> None:
    """Point the app at another broker, dropping connections an earlier test may have pooled."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_switches_the_bots_in_chunks_on_a_celery_worker(owner: Party, standin: StandIn, settings: Any) -> None:
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_prerun

    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MAINTENANCE_CHUNK_SIZE = 10
    bots = fleet_make(standin, owner.tenant, 60)
    ran: list[tuple[str, bool]] = []

    def record(task: Any, **kwargs: Any) -> None:
        # Other suites' tasks (a proxy notice, say) may still sit in the in-memory broker.
        if task.name == "botpresto.bots.tasks.maintenance_switch_task":
            ran.append((task.name, bool(task.request.is_eager)))

    task_prerun.connect(record, weak=False)
    use_broker(app, "memory://")
    try:
        # Two threads claim rows at once on PostgreSQL; SQLite's shared in-memory test database
        # cannot take two writers (a file database waits for its lock instead).
        threads = 2 if connection.vendor == "postgresql" else 1
        with start_worker(app, pool="threads", concurrency=threads, perform_ping_check=False, shutdown_timeout=10):
            window = maintenance_start(window=window_make())
            standin.wait_for(lambda: len(ran) == 6 and len(switches(standin)) == len(bots), timeout=30)
            standin.wait_for(lambda: not window.switches.exclude(state="done").exists(), timeout=10)
    finally:
        task_prerun.disconnect(record)
        use_broker(app, settings.CELERY_BROKER_URL)
    assert ran == [("botpresto.bots.tasks.maintenance_switch_task", False)] * 6  # 60 bots in chunks of 10
    assert switches(standin) == {str(bot.token): 1 for bot in bots}
    assert MaintenanceWindow.objects.get().state == MaintenanceWindow.State.BYPASSED
