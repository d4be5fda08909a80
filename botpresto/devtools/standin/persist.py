"""The stand-in's state in a file, so a restarted `make demo` is in step with the database.

BotPresto's database remembers that it holds a bot's webhook; a stand-in that forgot it
would deliver to the bot's own endpoint (or nowhere) while the dashboard says "Active".
What Telegram itself keeps is kept: each bot, its webhook (URL, secret, max_connections,
allowed_updates, certificate), its chats and blocks, its numbering, and the updates still
queued (an update in flight at the moment of the restart is delivered again, as Telegram
would). Call and delivery logs are for tests and are not kept.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from botpresto.devtools.standin.state import Bot

VERSION = 1


def bots_dump(bots: dict[str, Bot]) -> str:
    entries = []
    for bot in bots.values():
        queued = sorted(
            (update for queue in bot.queues.values() for update in queue.updates), key=lambda u: u["update_id"]
        )
        entries.append(
            {
                "token": bot.token,
                "id": bot.id,
                "username": bot.username,
                "first_name": bot.first_name,
                "revoked": bot.revoked,
                "webhook_url": bot.webhook_url,
                "secret_token": bot.secret_token,
                "max_connections": bot.max_connections,
                "allowed_updates": bot.allowed_updates,
                "ip_address": bot.ip_address,
                "certificate": base64.b64encode(bot.certificate).decode() if bot.certificate is not None else None,
                "next_update_id": bot.next_update_id,
                "next_message_id": bot.next_message_id,
                "chats": list(bot.chats.values()),
                "blocked": sorted(bot.blocked),
                "queued": queued,
            }
        )
    return json.dumps({"version": VERSION, "bots": entries}, sort_keys=True)


def bots_load(text: str) -> dict[str, Bot]:
    data: dict[str, Any] = json.loads(text)
    bots: dict[str, Bot] = {}
    for entry in data.get("bots", []):
        bot = Bot(token=entry["token"], id=int(entry["id"]), username=entry["username"], first_name=entry["first_name"])
        bot.revoked = bool(entry["revoked"])
        bot.allowed_updates = entry["allowed_updates"]
        certificate = entry["certificate"]
        bot.set_webhook(
            entry["webhook_url"],
            secret_token=entry["secret_token"],
            max_connections=entry["max_connections"],
            ip_address=entry["ip_address"],
            certificate=base64.b64decode(certificate) if certificate is not None else None,
        )
        bot.next_update_id, bot.next_message_id = int(entry["next_update_id"]), int(entry["next_message_id"])
        bot.chats = {int(chat["id"]): chat for chat in entry["chats"]}
        bot.blocked = set(entry["blocked"])
        for update in entry["queued"]:
            bot.enqueue(update)
        bots[bot.token] = bot
    return bots


def write_atomic(path: Path, text: str) -> None:
    """A reader (or the next start) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
