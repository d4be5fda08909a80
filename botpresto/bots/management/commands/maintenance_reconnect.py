"""Emergency: point every bypassed bot back at the proxy now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from botpresto.bots.maintenance import maintenance_end, maintenance_retry_failed
from botpresto.bots.management.commands._maintenance import report, run_waiting
from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow

W = MaintenanceWindow.State
D = MaintenanceSwitch.Direction
S = MaintenanceSwitch.State


class Command(BaseCommand):
    help = (
        "Reconnect now: end the open maintenance window and point its bots back at the proxy (bots whose "
        "webhook changed meanwhile are left alone and their owners told). A re-run retries bots that failed. "
        "Exits with status 1 if any bot failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would change, change nothing")
        parser.add_argument("--limit", type=int, default=None, help="switch at most this many bots in this run")

    def _window(self) -> MaintenanceWindow | None:
        open_window = MaintenanceWindow.objects.filter(state__in=MaintenanceWindow.OPEN).order_by("-starts_at")
        if (window := open_window.first()) is not None:
            return window
        with_failures = MaintenanceWindow.objects.filter(
            state=W.DONE, switches__direction=D.RECONNECT, switches__state=S.FAILED
        )
        return with_failures.order_by("-starts_at").first()

    def handle(self, *args: Any, **options: Any) -> None:
        window = self._window()
        if window is None:
            self.stdout.write("No maintenance window is open: nothing to reconnect.")
            return
        if options["dry_run"]:
            self._dry_run(window)
            return
        retried = maintenance_retry_failed(window=window, direction=D.RECONNECT)
        if retried:
            self.stdout.write(f"Retrying {retried} bots that failed before.")
        window = maintenance_end(window=window)
        if window.state not in (W.RECONNECTING, W.DONE):
            raise CommandError(f"{window} cannot be ended now.")
        run_waiting(self, window=window, direction=D.RECONNECT, limit=options["limit"])
        report(self, window, D.RECONNECT)

    def _dry_run(self, window: MaintenanceWindow) -> None:
        bypassed = window.switches.filter(direction=D.BYPASS).exclude(state__in=[S.PENDING, S.SKIPPED])
        settled = window.switches.filter(direction=D.RECONNECT, state__in=[S.DONE, S.SKIPPED])
        bots = (
            Bot.objects.filter(id__in=bypassed.values("bot_id")).exclude(id__in=settled.values("bot_id")).order_by("id")
        )
        for bot in bots:
            self.stdout.write(f"{bot}: → proxy, unless its webhook changed during the window")
        self.stdout.write(f"Dry run: {bots.count()} bots would be reconnected in {window}; nothing was changed.")
