"""What the two emergency commands share: progress lines and the final report."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from botpresto.bots.maintenance import maintenance_run
from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow
from botpresto.bots.selectors import maintenance_progress
from botpresto.core.retry import TRANSIENT_ERRORS, retry_after

PROGRESS_EVERY = 25
MAX_WAITS = 20  # Telegram unavailable or rate limiting this many times in a row: give up, run again later


def original_target(bot: Bot) -> str:
    """Where a bypass points the bot, without the URL's path or query (they may carry secrets)."""
    if not bot.original_url:
        return "delete the webhook (it had none)"
    return f"its original webhook on {urlsplit(str(bot.original_url)).hostname}"


class Printer:
    def __init__(self, command: BaseCommand, window: MaintenanceWindow, direction: str) -> None:
        self.command, self.window, self.direction, self.count = command, window, direction, 0

    def __call__(self, row: MaintenanceSwitch) -> None:
        self.count += 1
        if row.state != MaintenanceSwitch.State.DONE:
            self.command.stdout.write(f"  {row.bot}: {row.state}: {row.reason}")
        if self.count % PROGRESS_EVERY == 0:
            p = maintenance_progress(window=self.window)[self.direction]
            self.command.stdout.write(f"{self.direction}: {p.done} done, {p.left} left, {p.failed} failed")


def report(command: BaseCommand, window: MaintenanceWindow, direction: str) -> None:
    window.refresh_from_db()
    p = maintenance_progress(window=window)[direction]
    command.stdout.write(f"{window}: {direction} {p.done} done, {p.left} left, {p.failed} failed, {p.skipped} skipped.")
    for state, reason, n in p.reasons:
        command.stdout.write(f"  {n} {state}: {reason}")
    if p.failed:
        raise CommandError(f"{p.failed} bots failed; run the command again to retry them.", returncode=1)


def run_waiting(command: BaseCommand, *, window: MaintenanceWindow, direction: str, limit: int | None) -> None:
    """Switch the window's bots in this process, waiting out Telegram's 429s and short outages."""
    printer = Printer(command, window, direction)
    for waits in range(1, MAX_WAITS + 1):
        try:
            maintenance_run(window=window, direction=direction, max_bots=limit, on_row=printer)
            return
        except TRANSIENT_ERRORS as exc:
            wait = retry_after(exc) or min(2.0**waits, 60.0)
            command.stdout.write(f"Telegram is unavailable or asks us to wait: trying again in {wait:g} s.")
            time.sleep(wait)
    raise CommandError("Telegram stayed unavailable; run the command again later.", returncode=1)
