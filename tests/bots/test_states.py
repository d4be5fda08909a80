"""The bot state machine: each transition leaves only the states it names, and only the winner alerts."""

from __future__ import annotations

import ast
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from botpresto.bots import states
from botpresto.bots.models import Bot
from botpresto.notifications.models import OwnerAlert
from tests.conftest import Party, alerts_send
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
S = Bot.Status
ROOT = Path(__file__).resolve().parents[2]


def alerts(bot: Bot) -> list[str]:
    return list(OwnerAlert.objects.filter(bot=bot).order_by("id").values_list("kind", flat=True))


def stored(bot: Bot) -> str:
    return Bot.objects.values_list("status", flat=True).get(id=bot.id)


def test_it_makes_a_registered_bot_active_and_keeps_what_telegram_said(owner: Party) -> None:
    bot = bot_make(owner.tenant, status=S.CONNECTING)
    before = Bot.objects.get(id=bot.id).updated_at
    assert states.bot_mark_active(bot=bot, webhook_info={"url": bot.proxy_url, "pending_update_count": 2})
    bot.refresh_from_db()
    assert (bot.status, bot.webhook_info["pending_update_count"]) == (S.ACTIVE, 2)
    assert bot.updated_at > before  # every process's route table sees the change


def test_it_keeps_an_active_bot_active_with_the_new_webhook_info(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    assert not states.bot_mark_active(bot=bot, webhook_info={"url": "x", "pending_update_count": 7})
    assert Bot.objects.get(id=bot.id).webhook_info["pending_update_count"] == 7


@pytest.mark.parametrize("before", [S.ACTIVE, S.BYPASSED, S.TOKEN_REVOKED, S.WEBHOOK_CHANGED, S.WAITING])
def test_it_disconnects_from_any_state(owner: Party, before: str) -> None:
    bot = bot_make(owner.tenant, status=before)
    assert states.bot_mark_disconnected(bot=bot)
    assert stored(bot) == S.DISCONNECTED
    assert not states.bot_mark_disconnected(bot=bot)  # already: nothing changes


def test_it_bypasses_only_an_active_bot(owner: Party) -> None:
    active, gone = bot_make(owner.tenant), bot_make(owner.tenant, status=S.DISCONNECTED)
    assert states.bot_mark_bypassed(bot=active)
    assert not states.bot_mark_bypassed(bot=gone)
    assert (stored(active), stored(gone)) == (S.BYPASSED, S.DISCONNECTED)


def test_it_a_manual_reconnect_waits_for_the_first_update(owner: Party) -> None:
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, token=None, status=S.DISCONNECTED)
    assert states.bot_mark_waiting(bot=bot)
    assert stored(bot) == S.WAITING


@pytest.mark.parametrize("before", [S.ACTIVE, S.BYPASSED])
def test_it_a_changed_webhook_is_marked_and_alerted_once(owner: Party, before: str) -> None:
    bot = bot_make(owner.tenant, status=before)
    assert states.bot_mark_webhook_changed(bot=bot, during_maintenance=True)
    assert not states.bot_mark_webhook_changed(bot=bot)
    assert (stored(bot), alerts(bot)) == (S.WEBHOOK_CHANGED, ["webhook_changed"])
    assert "during the maintenance" in alerts_send()[0].body


def test_it_a_disconnected_bot_is_not_marked_changed(owner: Party) -> None:
    bot = bot_make(owner.tenant, status=S.DISCONNECTED)
    assert not states.bot_mark_webhook_changed(bot=bot)
    assert alerts(bot) == []


@pytest.mark.parametrize("before", [S.CONNECTING, S.ACTIVE, S.BYPASSED, S.WEBHOOK_CHANGED])
def test_it_a_revoked_token_is_marked_and_the_owners_asked_once(owner: Party, before: str) -> None:
    bot = bot_make(owner.tenant, status=before)
    assert states.bot_mark_token_revoked(bot=bot)
    assert not states.bot_mark_token_revoked(bot=bot)
    assert (stored(bot), alerts(bot)) == (S.TOKEN_REVOKED, ["token_revoked"])


def test_it_a_manual_bot_has_no_token_to_revoke(owner: Party) -> None:
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, token=None, status=S.WAITING)
    assert not states.bot_mark_token_revoked(bot=bot)


def test_it_a_failing_streak_is_one_fact_with_one_alert(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    since = time.time() - 30
    assert states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect", "failures": 3})
    assert not states.bot_endpoint_failing(bot=bot, since=since + 1, details={"error": "connect", "failures": 4})
    bot.refresh_from_db()
    assert (bot.status, bot.shown_status) == (S.ACTIVE, S.FAILING)
    assert alerts(bot) == ["failing"]


def test_it_a_recovery_ends_the_streak_with_one_alert(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    since = time.time() - 60
    states.bot_endpoint_failing(bot=bot, since=since, details={"error": "timeout", "failures": 3})
    assert states.bot_endpoint_recovered(bot=bot, at=since + 50, held=4)
    assert not states.bot_endpoint_recovered(bot=bot, at=since + 51, held=4)
    bot.refresh_from_db()
    assert (bot.shown_status, bot.endpoint_failing_since) == (S.ACTIVE, None)
    assert alerts(bot) == ["failing", "recovered"]
    assert "held back 4 updates" in alerts_send()[1].body


def test_it_a_success_from_before_the_streak_does_not_end_it(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    since = time.time()
    states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect"})
    assert not states.bot_endpoint_recovered(bot=bot, at=since - 5)
    assert Bot.objects.get(id=bot.id).endpoint_failing_since is not None


def test_it_a_late_report_of_an_old_streak_does_not_fail_a_recovered_bot(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    since = time.time() - 100
    states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect"})
    states.bot_endpoint_recovered(bot=bot, at=since + 50)
    assert not states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect"})
    assert alerts(bot) == ["failing", "recovered"]


def test_it_the_streak_survives_a_restart_because_it_is_stored(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    states.bot_endpoint_failing(bot=bot, since=time.time() - 5, details={"error": "connect"})
    reloaded = Bot.objects.get(id=bot.id)  # a new process knows only the row
    assert states.bot_endpoint_recovered(bot=reloaded, at=time.time())


def test_it_a_disconnected_bot_is_not_alerted_as_failing(owner: Party) -> None:
    bot = bot_make(owner.tenant, status=S.DISCONNECTED)
    assert not states.bot_endpoint_failing(bot=bot, since=time.time(), details={"error": "connect"})


def test_it_the_last_update_time_only_moves_forward(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    now = time.time()
    states.bots_last_update_mark(latest={bot.id: now})
    states.bots_last_update_mark(latest={bot.id: now - 60})
    assert Bot.objects.get(id=bot.id).last_update_at.timestamp() == pytest.approx(now)


def test_it_the_manual_refresh_moves_only_manual_bots(owner: Party) -> None:
    token_bot = bot_make(owner.tenant, last_update_at=None)
    manual = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, token=None, status=S.WAITING, last_update_at=timezone.now())
    states.bots_manual_refresh()
    assert (stored(token_bot), stored(manual)) == (S.ACTIVE, S.ACTIVE)
    Bot.objects.filter(id=manual.id).update(last_update_at=timezone.now() - timedelta(days=3))
    states.bots_manual_refresh()
    assert stored(manual) == S.SILENT


class _StatusWrites(ast.NodeVisitor):
    """Assignments to ``.status``, ``status=`` in ORM writes, and "status" in update_fields."""

    WRITES = frozenset({"update", "create", "get_or_create", "update_or_create", "bulk_update"})

    def __init__(self) -> None:
        self.found: list[int] = []

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in node.targets):
            self.found.append(node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for keyword in node.keywords:
            if keyword.arg == "status" and name in self.WRITES:
                self.found.append(node.lineno)
            if keyword.arg == "update_fields" and "status" in ast.unparse(keyword.value):
                self.found.append(node.lineno)
        self.generic_visit(node)


def test_it_nothing_outside_the_state_machine_writes_a_bots_status() -> None:
    allowed = {ROOT / "botpresto" / "bots" / "states.py"}
    offenders = []
    for package in ("botpresto", "proxy", "analytics", "accounts"):
        for path in (ROOT / package).rglob("*.py"):
            if path in allowed or "migrations" in path.parts or "devtools" in path.parts:
                continue
            visitor = _StatusWrites()
            visitor.visit(ast.parse(path.read_text()))
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in visitor.found]
    assert offenders == []


def test_it_the_guard_finds_a_status_write() -> None:
    visitor = _StatusWrites()
    visitor.visit(ast.parse("Bot.objects.filter(id=1).update(status='active')\nbot.status = 'x'\n"))
    assert visitor.found == [1, 2]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transition", ["failing", "recovered"])
def test_it_alerts_once_when_two_processes_report_the_same_change_at_once(owner: Party, transition: str) -> None:
    import threading

    from django.db import OperationalError, connection

    bot = bot_make(owner.tenant)
    since = time.time() - 60
    if transition == "recovered":
        states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect"})
    start = threading.Barrier(4)
    won: list[bool] = []

    def report(n: int) -> None:
        try:
            mine = Bot.objects.get(id=bot.id)  # each reporter reads the row as it was
            start.wait()
            for _ in range(50):  # SQLite locks the table for a moment: retried, as the task would be
                try:
                    if transition == "failing":
                        changed = states.bot_endpoint_failing(bot=mine, since=since + n, details={"error": "x"})
                    else:
                        changed = states.bot_endpoint_recovered(bot=mine, at=since + 30 + n)
                except OperationalError:
                    time.sleep(0.02)
                    continue
                won.append(changed)
                break
        finally:
            connection.close()

    reporters = [threading.Thread(target=report, args=(n,)) for n in range(4)]
    for thread in reporters:
        thread.start()
    for thread in reporters:
        thread.join()
    assert sorted(won) == [False, False, False, True]
    assert alerts(bot).count(transition) == 1
    assert sum(transition in m.subject for m in alerts_send()) == 1


def test_it_the_sweep_ends_a_streak_whose_recovery_task_was_lost(owner: Party) -> None:
    from botpresto.notifications.notices import delivered_mark
    from proxy.health import recoveries_sweep

    bot = bot_make(owner.tenant)
    since = time.time() - 60
    states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect"})
    delivered_mark(bot_id=bot.id, at=since + 40)  # an update went through; its recovery task never arrived
    assert recoveries_sweep() == 1
    assert recoveries_sweep() == 0
    bot.refresh_from_db()
    assert bot.shown_status == S.ACTIVE
    assert alerts(bot) == ["failing", "recovered"]


def test_it_the_sweep_leaves_a_bot_that_has_delivered_nothing_since_it_started_failing(owner: Party) -> None:
    from botpresto.notifications.notices import delivered_mark
    from proxy.health import recoveries_sweep

    bot = bot_make(owner.tenant)
    since = time.time() - 60
    delivered_mark(bot_id=bot.id, at=since - 1)
    states.bot_endpoint_failing(bot=bot, since=since, details={"error": "connect"})
    assert recoveries_sweep() == 0
    assert Bot.objects.get(id=bot.id).shown_status == S.FAILING
