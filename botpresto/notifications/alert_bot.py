"""The operator's Telegram alert bot: what it does with the updates Telegram posts to it.

``/start <token>`` (the one-time deep link from a profile page) links the private chat to
that person; ``/stop`` or blocking the bot unlinks it. It answers with a webhook reply
(a sendMessage in the HTTP answer), so a link needs no call of ours to Telegram.
"""

from __future__ import annotations

from typing import Any

from botpresto.notifications.services import telegram_link_use, telegram_unlink

HELP = (
    "This bot sends BotPresto alerts. To get yours here, open your profile page on BotPresto and "
    "choose \u201cLink Telegram\u201d."
)


def _reply(chat_id: int, text: str) -> dict[str, Any]:
    return {"method": "sendMessage", "chat_id": chat_id, "text": text}


def alert_bot_update(update: Any) -> dict[str, Any] | None:
    """The webhook reply to one update (or None): nothing users write is kept."""
    if not isinstance(update, dict):
        return None
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        chat = member.get("chat") or {}
        status = (member.get("new_chat_member") or {}).get("status")
        if chat.get("type") == "private" and status == "kicked" and isinstance(chat.get("id"), int):
            telegram_unlink(chat_id=chat["id"])
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat") or {}
    text = message.get("text")
    if chat.get("type") != "private" or not isinstance(chat.get("id"), int) or not isinstance(text, str):
        return None
    command, _, argument = text.strip().partition(" ")
    if command == "/stop":
        telegram_unlink(chat_id=chat["id"])
        return _reply(chat["id"], "Done: this chat gets no more BotPresto alerts.")
    if command == "/start" and argument:
        sender = message.get("from") or {}
        name = str(sender.get("username") or sender.get("first_name") or "")
        user = telegram_link_use(token=argument.strip(), chat_id=chat["id"], name=name)
        if user is None:
            return _reply(chat["id"], "This link was used already or is more than an hour old. " + HELP)
        return _reply(
            chat["id"],
            f"Linked to {user.email}: BotPresto alerts you chose for Telegram come here. Send /stop to end them.",
        )
    return _reply(chat["id"], HELP)
