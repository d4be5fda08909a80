"""Maintenance windows: point every connected token-mode bot at its own endpoint, then back at us.

Each bot has one MaintenanceSwitch row per direction and window. The row is the
claim: a worker takes it with a conditional UPDATE (pending, or running but
abandoned by a dead worker) and checks the row count, so two workers never
switch one bot and a re-run only picks up what is left. Every switch reads the
bot's webhook first, so a bot whose worker died half-way is finished without a
second switch, and a webhook someone else set is never taken back.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow
from botpresto.bots.states import CONNECTED
from botpresto.bots.switch import Outcome, maintenance_bot_switch
from botpresto.core.enqueue import task_enqueue
from botpresto.core.errors import ApplicationError
from botpresto.core.retry import TRANSIENT_ERRORS
from botpresto.notifications.alerts import alert_record
from botpresto.notifications.models import OwnerAlert

logger = logging.getLogger(__name__)

SWITCH_TASK = "botpresto.bots.tasks.maintenance_switch_task"
MAX_ATTEMPTS = 10  # tries of one bot while Telegram is unavailable or asks us to wait
LEASE = timedelta(minutes=5)  # a running row untouched this long belongs to a worker that died
STALLED = timedelta(minutes=2)  # no row moved this long: the tick hands the rest to new tasks
Direction = MaintenanceSwitch.Direction
Row = MaintenanceSwitch.State
Window = MaintenanceWindow.State


def _rows(window: MaintenanceWindow, direction: str) -> QuerySet[MaintenanceSwitch]:
    return MaintenanceSwitch.objects.filter(window=window, direction=direction)


def _claimable(now: datetime) -> Q:
    return Q(state=Row.PENDING) | Q(state=Row.RUNNING, updated_at__lt=now - LEASE)


def _rows_create(window: MaintenanceWindow, direction: str, bot_ids: list[int]) -> None:
    now = timezone.now()
    MaintenanceSwitch.objects.bulk_create(
        [MaintenanceSwitch(window=window, bot_id=bot_id, direction=direction, updated_at=now) for bot_id in bot_ids],
        batch_size=500,
        ignore_conflicts=True,
    )


def maintenance_notify(*, window: MaintenanceWindow) -> int:
    """Tell the owners of connected bots about the window, once; returns the tenants told."""
    with transaction.atomic():
        claimed = MaintenanceWindow.objects.filter(id=window.id, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
        if not claimed:
            return 0
        bots = Bot.objects.filter(
            Q(mode=Bot.Mode.TOKEN, status__in=CONNECTED)
            | (Q(mode=Bot.Mode.MANUAL) & ~Q(status=Bot.Status.DISCONNECTED))
        ).order_by("username")
        by_tenant: dict[int, tuple[list[str], list[str]]] = {}
        for bot in bots:
            token_bots, manual_bots = by_tenant.setdefault(bot.tenant_id, ([], []))
            (token_bots if bot.is_token_mode else manual_bots).append(str(bot))
        for tenant_id, (token_bots, manual_bots) in by_tenant.items():
            details = {
                "starts_at": f"{window.starts_at:%Y-%m-%d %H:%M} UTC",
                "ends_at": f"{window.ends_at:%Y-%m-%d %H:%M} UTC",
                "reason": window.reason,
                "token_bots": token_bots,
                "manual_bots": manual_bots,
            }
            alert_record(tenant_id=tenant_id, kind=OwnerAlert.Kind.MAINTENANCE, details=details)
    logger.info("maintenance_notified window=%s tenants=%d", window.id, len(by_tenant))
    return len(by_tenant)


def maintenance_start(*, window: MaintenanceWindow) -> MaintenanceWindow:
    """Start the bypass now: a row per connected token-mode bot, then tasks to switch them.

    The emergency command switches the same rows in its own process too: a row is
    claimed by one of them, so tasks and the command never switch a bot twice.
    """
    now = timezone.now()
    if MaintenanceWindow.objects.filter(state__in=MaintenanceWindow.OPEN).exclude(id=window.id).exists():
        raise ApplicationError("Another maintenance window is still open: end it first.", code="window_open")
    if window.state == Window.PLANNED:
        if window.ends_at <= now:
            raise ApplicationError("This window's end has passed: move its end first.", code="window_state")
        starts_at = min(window.starts_at, now)
        MaintenanceWindow.objects.filter(id=window.id, state=Window.PLANNED).update(
            state=Window.BYPASSING, starts_at=starts_at
        )
        window.refresh_from_db()
        if window.state == Window.BYPASSING:
            logger.info("maintenance_started window=%s", window.id)
    if window.state != Window.BYPASSING:
        raise ApplicationError(f"This window is {window.get_state_display().lower()}.", code="window_state")
    maintenance_notify(window=window)  # if it was started before its advance notice went out
    connected = Bot.objects.filter(mode=Bot.Mode.TOKEN, status__in=CONNECTED).order_by("id")
    bot_ids = list(connected.values_list("id", flat=True))
    _rows_create(window, Direction.BYPASS, bot_ids)
    maintenance_dispatch(window=window, direction=Direction.BYPASS)
    return window


def maintenance_end(*, window: MaintenanceWindow) -> MaintenanceWindow:
    """End the window now: stop bypassing and reconnect every bot that was bypassed (or may have been)."""
    now = timezone.now()
    if window.state == Window.PLANNED:
        MaintenanceWindow.objects.filter(id=window.id, state=Window.PLANNED).update(state=Window.DONE)
        logger.info("maintenance_cancelled window=%s", window.id)
    elif window.state in (Window.BYPASSING, Window.BYPASSED):
        MaintenanceWindow.objects.filter(id=window.id, state=window.state).update(
            state=Window.RECONNECTING, ends_at=min(window.ends_at, now)
        )
        logger.info("maintenance_ending window=%s", window.id)
    window.refresh_from_db()
    if window.state != Window.RECONNECTING:
        return window
    # Claims check the window's state, so from here no pending bypass row can start.
    bypass = _rows(window, Direction.BYPASS)
    bypass.filter(state=Row.PENDING).update(
        state=Row.SKIPPED, reason="the window ended before this bot was bypassed", updated_at=now
    )
    # Failed and running bypasses may have switched the webhook: the reconnect reads it and decides.
    bot_ids = list(bypass.exclude(state=Row.SKIPPED).order_by("bot_id").values_list("bot_id", flat=True))
    _rows_create(window, Direction.RECONNECT, bot_ids)
    maintenance_dispatch(window=window, direction=Direction.RECONNECT)
    return window


def maintenance_dispatch(*, window: MaintenanceWindow, direction: str) -> int:
    """Hand the rows left to Celery tasks of MAINTENANCE_CHUNK_SIZE bots each; returns the number of tasks."""
    left = _rows(window, direction).filter(_claimable(timezone.now())).count()
    if not left:
        _window_complete(window=window, direction=direction)
        return 0
    tasks = math.ceil(left / settings.MAINTENANCE_CHUNK_SIZE)
    for _ in range(tasks):
        task_enqueue(SWITCH_TASK, window.id, direction)
    logger.info("maintenance_dispatched window=%s direction=%s bots=%s tasks=%s", window.id, direction, left, tasks)
    return tasks


def _in_flight_bypasses(window: MaintenanceWindow, now: datetime) -> QuerySet[MaintenanceSwitch]:
    return _rows(window, Direction.BYPASS).filter(state=Row.RUNNING, updated_at__gte=now - LEASE)


def _claim(window: MaintenanceWindow, direction: str) -> MaintenanceSwitch | None:
    now = timezone.now()
    expected = Window.BYPASSING if direction == Direction.BYPASS else Window.RECONNECTING
    candidates = _rows(window, direction).filter(_claimable(now))
    if direction == Direction.RECONNECT:
        # A bot is reconnected only once its bypass, still running in another worker, has finished.
        candidates = candidates.exclude(bot_id__in=_in_flight_bypasses(window, now).values("bot_id"))
    # The row's own state must be in the UPDATE's WHERE: a filter across the join (window__state) makes
    # Django write "id IN (subquery)", which PostgreSQL does not re-check against a row another worker
    # has just claimed, so both would win it.
    window_open = MaintenanceWindow.objects.filter(id=window.id, state=expected).values("id")
    while ids := list(candidates.order_by("id").values_list("id", flat=True)[:20]):
        for row_id in ids:
            claimed = MaintenanceSwitch.objects.filter(_claimable(now), id=row_id, window_id__in=window_open).update(
                state=Row.RUNNING, attempts=F("attempts") + 1, updated_at=now
            )
            if claimed:
                return MaintenanceSwitch.objects.select_related("bot").get(id=row_id)
        if not MaintenanceWindow.objects.filter(id=window.id, state=expected).exists():
            return None
    return None


def _reconnect_blocked(window: MaintenanceWindow) -> bool:
    """Bots wait for a reconnect only because their bypass is still running elsewhere."""
    return (
        MaintenanceWindow.objects.filter(id=window.id, state=Window.RECONNECTING).exists()
        and _rows(window, Direction.RECONNECT).filter(state=Row.PENDING).exists()
        and _in_flight_bypasses(window, timezone.now()).exists()
    )


def _release(row: MaintenanceSwitch, exc: Exception) -> None:
    """Telegram is away or asks us to wait: the bot is tried again later, a bounded number of times."""
    state = Row.PENDING if row.attempts < MAX_ATTEMPTS else Row.FAILED
    reason = f"Telegram unavailable or rate limited {row.attempts} times" if state == Row.FAILED else ""
    MaintenanceSwitch.objects.filter(id=row.id).update(state=state, reason=reason, updated_at=timezone.now())
    logger.info(
        "maintenance_switch_deferred window=%s bot=%s error=%s", row.window_id, row.bot.uuid, type(exc).__name__
    )


def _finish(row: MaintenanceSwitch, outcome: Outcome) -> None:
    MaintenanceSwitch.objects.filter(id=row.id).update(
        state=outcome.state, reason=outcome.reason[:300], updated_at=timezone.now()
    )
    row.state, row.reason = outcome.state, outcome.reason
    logger.info(
        "maintenance_switch window=%s bot=%s direction=%s state=%s reason=%r",
        row.window_id,
        row.bot.uuid,
        row.direction,
        outcome.state,
        outcome.reason,
    )


def maintenance_run(
    *,
    window: MaintenanceWindow,
    direction: str,
    max_bots: int | None = None,
    on_row: Callable[[MaintenanceSwitch], None] | None = None,
) -> int:
    """Claim and switch this window's bots one at a time until none is left (or ``max_bots``); returns how many.

    A transient Telegram failure puts the bot back and is raised, for the task's retry
    (or the emergency command's wait) to come back to it.
    """
    handled = 0
    while max_bots is None or handled < max_bots:
        row = _claim(window, direction)
        if row is None:
            if direction == Direction.RECONNECT and _reconnect_blocked(window):
                time.sleep(0.5)  # another worker is still bypassing one of these bots
                continue
            break
        try:
            outcome = maintenance_bot_switch(bot=row.bot, direction=direction)
        except TRANSIENT_ERRORS as exc:
            _release(row, exc)
            raise
        _finish(row, outcome)
        handled += 1
        if on_row is not None:
            on_row(row)
    _window_complete(window=window, direction=direction)
    return handled


def _window_complete(*, window: MaintenanceWindow, direction: str) -> bool:
    """Move the window on once no row of this direction is left; True if none is."""
    if _rows(window, direction).filter(state__in=[Row.PENDING, Row.RUNNING]).exists():
        return False
    if direction == Direction.BYPASS:
        moved = MaintenanceWindow.objects.filter(id=window.id, state=Window.BYPASSING).update(state=Window.BYPASSED)
    else:
        _rows(window, Direction.BYPASS).filter(state=Row.RUNNING).update(
            state=Row.FAILED, reason="interrupted: its worker stopped", updated_at=timezone.now()
        )
        moved = MaintenanceWindow.objects.filter(id=window.id, state=Window.RECONNECTING).update(state=Window.DONE)
    if moved:
        window.refresh_from_db()
        logger.info("maintenance_%s window=%s", "bypassed" if direction == Direction.BYPASS else "done", window.id)
    return True


def maintenance_resume(*, window: MaintenanceWindow) -> None:
    """Finish a window whose rows are all switched, or hand its rows to new tasks if nothing moved for a while."""
    if window.state not in (Window.BYPASSING, Window.RECONNECTING):
        return
    direction = Direction.BYPASS if window.state == Window.BYPASSING else Direction.RECONNECT
    if _window_complete(window=window, direction=direction):
        return
    now = timezone.now()
    rows = _rows(window, direction)
    last_move = rows.aggregate(last=Max("updated_at"))["last"]
    running = rows.filter(state=Row.RUNNING, updated_at__gte=now - LEASE).exists()
    if not running and (last_move is None or last_move < now - STALLED):
        logger.info("maintenance_resumed window=%s direction=%s", window.id, direction)
        maintenance_dispatch(window=window, direction=direction)


def maintenance_tick() -> None:
    """Every minute: advance notices, windows that start or end, jobs that stalled."""
    now = timezone.now()
    planned = MaintenanceWindow.objects.filter(state=Window.PLANNED)
    lead = timedelta(hours=settings.MAINTENANCE_NOTICE_HOURS)
    for window in planned.filter(notified_at__isnull=True, starts_at__lte=now + lead, ends_at__gt=now):
        maintenance_notify(window=window)
    for window in planned.filter(ends_at__lte=now):
        logger.warning("maintenance_missed window=%s", window.id)  # its whole span passed without a tick
        MaintenanceWindow.objects.filter(id=window.id, state=Window.PLANNED).update(state=Window.DONE)
    for window in planned.filter(starts_at__lte=now).order_by("starts_at"):
        try:
            maintenance_start(window=window)
        except ApplicationError as exc:
            logger.warning("maintenance_not_started window=%s reason=%r", window.id, exc.message)
    open_windows = MaintenanceWindow.objects.filter(state__in=[Window.BYPASSING, Window.BYPASSED])
    for window in open_windows.filter(ends_at__lte=now):
        maintenance_end(window=window)
    for window in MaintenanceWindow.objects.filter(state__in=[Window.BYPASSING, Window.RECONNECTING]):
        maintenance_resume(window=window)


def maintenance_retry_failed(*, window: MaintenanceWindow, direction: str) -> int:
    """Give the bots that failed another go (the emergency commands do this on a re-run)."""
    retried = _rows(window, direction).filter(state=Row.FAILED).update(state=Row.PENDING, updated_at=timezone.now())
    if retried:
        finished, running = (
            (Window.BYPASSED, Window.BYPASSING) if direction == Direction.BYPASS else (Window.DONE, Window.RECONNECTING)
        )
        MaintenanceWindow.objects.filter(id=window.id, state=finished).update(state=running)
        window.refresh_from_db()
    return retried
