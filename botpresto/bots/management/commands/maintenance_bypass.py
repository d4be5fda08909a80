"""Emergency: point every connected token-mode bot at its own endpoint now, in this process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from botpresto.bots.maintenance import maintenance_retry_failed, maintenance_start
from botpresto.bots.management.commands._maintenance import original_target, report, run_waiting
from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow
from botpresto.bots.states import CONNECTED
from botpresto.core.errors import ApplicationError

W = MaintenanceWindow.State
D = MaintenanceSwitch.Direction


class Command(BaseCommand):
    help = (
        "Bypass now: point every connected token-mode bot back at its original webhook. Resumes an open "
        "window (or starts a due planned one, or opens one) and retries bots that failed. "
        "Exits with status 1 if any bot failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would change, change nothing")
        parser.add_argument("--reason", default="Emergency maintenance", help="reason shown to owners")
        parser.add_argument("--hours", type=float, default=2, help="expected length of a new window (default 2)")
        parser.add_argument("--limit", type=int, default=None, help="switch at most this many bots in this run")

    def _window(self) -> MaintenanceWindow | None:
        now = timezone.now()
        running = MaintenanceWindow.objects.filter(state=W.RECONNECTING).first()
        if running is not None:
            raise CommandError(f"{running} is reconnecting bots; finish it with maintenance_reconnect first.")
        return (
            MaintenanceWindow.objects.filter(state__in=[W.BYPASSING, W.BYPASSED]).order_by("-starts_at").first()
            or MaintenanceWindow.objects.filter(state=W.PLANNED, starts_at__lte=now, ends_at__gt=now)
            .order_by("starts_at")
            .first()
        )

    def handle(self, *args: Any, **options: Any) -> None:
        window = self._window()
        if options["dry_run"]:
            self._dry_run(window)
            return
        if window is None:
            now = timezone.now()
            window = MaintenanceWindow.objects.create(
                starts_at=now, ends_at=now + timedelta(hours=options["hours"]), reason=options["reason"]
            )
            self.stdout.write(f"Opened {window}; it ends at {window.ends_at:%Y-%m-%d %H:%M} UTC unless changed.")
        retried = maintenance_retry_failed(window=window, direction=D.BYPASS)
        if retried:
            self.stdout.write(f"Retrying {retried} bots that failed before.")
        if window.state in (W.PLANNED, W.BYPASSING):
            try:
                window = maintenance_start(window=window)
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
        run_waiting(self, window=window, direction=D.BYPASS, limit=options["limit"])
        report(self, window, D.BYPASS)

    def _dry_run(self, window: MaintenanceWindow | None) -> None:
        bots = Bot.objects.filter(mode=Bot.Mode.TOKEN, status__in=CONNECTED)
        if window is not None:
            settled = Q(state__in=[MaintenanceSwitch.State.DONE, MaintenanceSwitch.State.SKIPPED])
            bots = bots.exclude(id__in=window.switches.filter(settled, direction=D.BYPASS).values("bot_id"))
        bots = bots.order_by("id")
        for bot in bots:
            self.stdout.write(f"{bot}: proxy → {original_target(bot)}")
        where = f"in {window}" if window else "in a new window"
        self.stdout.write(f"Dry run: {bots.count()} bots would be bypassed {where}; nothing was changed.")
