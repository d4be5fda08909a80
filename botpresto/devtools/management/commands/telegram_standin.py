from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from botpresto.devtools.standin import StandIn


class Command(BaseCommand):
    help = "Run the local Telegram Bot API stand-in in the foreground until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8081)
        scheme = parser.add_mutually_exclusive_group()
        scheme.add_argument(
            "--allow-http", dest="allow_http", action="store_true", default=True, help="accept http webhooks (default)"
        )
        scheme.add_argument(
            "--https-only", dest="allow_http", action="store_false", help="refuse webhooks Telegram would refuse"
        )
        parser.add_argument(
            "--bot",
            action="append",
            default=[],
            metavar="TOKEN:USERNAME",
            help="add a bot; a bare USERNAME gets a generated token (repeatable)",
        )
        parser.add_argument("--retry-base-delay", type=float, default=1.0, metavar="SECONDS")
        parser.add_argument("--state", metavar="FILE", help="keep bots, webhooks and queued updates across restarts")

    def handle(self, *args: Any, **options: Any) -> None:
        standin = StandIn(
            options["host"],
            options["port"],
            allow_http=options["allow_http"],
            retry_base_delay=options["retry_base_delay"],
            state_file=options["state"],
        )
        standin.start()
        known = {bot.username for bot in standin.bots()}  # kept in --state from the last run
        for spec in options["bot"]:
            token, _, username = str(spec).rpartition(":")
            if username in known:
                continue
            try:
                standin.add_bot(token or None, username=username)
            except ValueError as exc:
                standin.stop()
                raise CommandError(f"--bot {username}: {exc}") from None
        standin.save()
        # A local test tool: printing the demo bots' tokens is the point.
        self.stdout.write(f"Telegram Bot API stand-in on {standin.url}")
        for bot in standin.bots():
            self.stdout.write(f"  @{bot.username} {bot.token}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            standin.stop()
