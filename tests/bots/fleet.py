"""Connected token-mode bots with varied original webhooks, mirrored in the Telegram stand-in."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Tenant
from botpresto.bots.models import Bot
from botpresto.bots.services import webhook_subscription
from botpresto.devtools.standin import StandIn
from tests.factories import bot_make

CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBfake{n}\n-----END CERTIFICATE-----"


@dataclass(frozen=True)
class Original:
    """What the bot's webhook was before it was connected: what a bypass must restore."""

    url: str
    secret: str | None
    max_connections: int | None
    allowed_updates: list[str] | None
    ip_address: str | None
    certificate: bytes | None


def fleet_make(standin: StandIn, tenant: Tenant, count: int, start: int = 0) -> list[Bot]:
    """``count`` active bots: every tenth had no webhook, every seventh a certificate, limits vary."""
    bots = []
    for n in range(start, start + count):
        had_webhook = n % 10 != 0
        certificate = CERTIFICATE.format(n=n) if had_webhook and n % 7 == 0 else ""
        allowed = ["message", "callback_query"] if n % 3 == 0 else None
        bot = bot_make(
            tenant,
            telegram_id=8_000_000_000 + n,
            endpoint_secret=f"owner_secret_{n}" if n % 4 else None,
            upstream_url=f"https://owner{n}.example.com/hook",
            original_url=f"https://owner{n}.example.com/hook" if had_webhook else "",
            original_max_connections=1 + n % 100 if had_webhook else None,
            original_allowed_updates=allowed,
            original_ip_address=f"203.0.113.{n % 250}" if had_webhook and n % 5 == 0 else "",
            original_has_certificate=bool(certificate),
            certificate=certificate,
        )
        # As webhook_register left it: our URL and secret, the original limits and our subscription, no certificate.
        standin.add_bot(
            str(bot.token),
            username=bot.username,
            webhook_url=bot.proxy_url,
            secret_token=str(bot.proxy_secret),
            max_connections=bot.original_max_connections,
            allowed_updates=webhook_subscription(bot=bot),
        )
        bots.append(bot)
    return bots


def original_of(bot: Bot) -> Original:
    if not bot.original_url:
        return Original("", None, None, bot.original_allowed_updates, None, None)
    return Original(
        url=str(bot.original_url),
        secret=str(bot.endpoint_secret) if bot.endpoint_secret else None,
        max_connections=bot.original_max_connections,
        allowed_updates=bot.original_allowed_updates,
        ip_address=bot.original_ip_address or None,
        certificate=bot.certificate.encode() if bot.original_has_certificate else None,
    )


def webhook_of(standin: StandIn, bot: Bot) -> Original:
    state = standin.bot(str(bot.token))
    return Original(
        state.webhook_url,
        state.secret_token,
        state.max_connections,
        state.allowed_updates,
        state.ip_address,
        state.certificate,
    )
