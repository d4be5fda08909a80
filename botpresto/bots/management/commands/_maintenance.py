"""What the two emergency commands share: progress lines and the final report."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from botpresto.bots.models import Bot, MaintenanceSwitch, MaintenanceWindow
from botpresto.bots.selectors import maintenance_progress

PROGRESS_EVERY = 25


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
