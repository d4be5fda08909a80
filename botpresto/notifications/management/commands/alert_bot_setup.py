"""Point the Telegram alert bot's webhook at this service (once, after setting ALERT_BOT_TOKEN)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from botpresto.core.telegram import TelegramError
from botpresto.notifications.services import alert_bot_setup, alert_bot_username


class Command(BaseCommand):
    help = "Point the alert bot's webhook at PUBLIC_URL, so owners can link their Telegram."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.ALERT_BOT_TOKEN:
            raise CommandError("Set ALERT_BOT_TOKEN first (a bot of your own from @BotFather).")
        try:
            url = alert_bot_setup()
            username = alert_bot_username()
        except TelegramError as exc:
            raise CommandError(f"Telegram refused: {exc.description}") from None
        self.stdout.write(f"@{username} now posts its updates to {url}")
