"""Rows for tests that do not go through Telegram."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import Tenant
from botpresto.bots.models import Bot
from botpresto.bots.services import proxy_secret_generate

_ids = itertools.count(7_000_000_001)


def bot_make(tenant: Tenant, **fields: Any) -> Bot:
    telegram_id = fields.pop("telegram_id", next(_ids))
    defaults: dict[str, Any] = {
        "mode": Bot.Mode.TOKEN,
        "status": Bot.Status.ACTIVE,
        "telegram_id": telegram_id,
        "username": f"bot{telegram_id}",
        "token": f"{telegram_id}:AAExampleExampleExampleExampleExample",
        "proxy_secret": proxy_secret_generate(),
        "upstream_url": "https://bot.example.com/hook",
        "original_url": "https://bot.example.com/hook",
    }
    defaults.update(fields)
    return Bot.objects.create(tenant=tenant, **defaults)
