"""Turn a Telegram update into metadata, leaving out everything a user wrote.

What comes out: update type and id, date, user's public profile, chat id and
type, kind of content, command name, language, and whether the update was
addressed to the bot. Never text, captions, callback data, inline query text,
poll options, file ids, phone numbers or locations. Unknown shapes are
skipped, not guessed at.
"""

from __future__ import annotations

from typing import Any

# Update types of Bot API 10.2, where their user and chat live (TELEGRAM.md).
MESSAGE_TYPES = (
    "message",
    "edited_message",
    "business_message",
    "edited_business_message",
    "guest_message",
    "channel_post",
    "edited_channel_post",
)
FROM_TYPES = (
    "inline_query",
    "chosen_inline_result",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "callback_query",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
)
USER_TYPES = ("poll_answer", "message_reaction", "business_connection", "managed_bot", "subscription")
CHAT_ONLY_TYPES = ("message_reaction_count", "removed_chat_boost", "deleted_business_messages", "chat_boost")
OTHER_TYPES = ("poll",)
UPDATE_TYPES = MESSAGE_TYPES + FROM_TYPES + USER_TYPES + CHAT_ONLY_TYPES + OTHER_TYPES

# Checked in this order: the first key a message has names its content.
CONTENT_KINDS = (
    "text",
    "photo",
    "video",
    "animation",
    "voice",
    "video_note",
    "audio",
    "document",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "invoice",
    "successful_payment",
    "story",
    "paid_media",
    "checklist",
    "new_chat_members",
    "left_chat_member",
    "pinned_message",
)

USER_FIELDS = ("id", "is_bot", "first_name", "last_name", "username", "language_code", "is_premium")


def _user(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    return {key: data[key] for key in USER_FIELDS if key in data}


def _chat(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    return {"id": data["id"], "type": str(data.get("type", ""))}


def _command(message: dict[str, Any]) -> str | None:
    text = message.get("text")
    if not isinstance(text, str) or not text.startswith("/"):
        return None
    name = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
    name = name.split("@", 1)[0].lower()
    # Only a well-formed command name is kept, never free text.
    if not name or len(name) > 32 or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in name):
        return None
    return name


def _addressed(message: dict[str, Any], chat: dict[str, Any] | None, bot_id: int | None, bot_username: str) -> bool:
    """Did a user address the bot (private chat, a command, a reply to it, a mention)?"""
    if chat and chat["type"] == "private":
        return True
    text = message.get("text") or message.get("caption") or ""
    if isinstance(text, str) and text.startswith("/"):
        first = text.split(maxsplit=1)[0]
        return "@" not in first or (bool(bot_username) and first.lower().endswith("@" + bot_username.lower()))
    reply = message.get("reply_to_message")
    if bot_id and isinstance(reply, dict) and isinstance(reply.get("from"), dict) and reply["from"].get("id") == bot_id:
        return True
    return bool(bot_username) and isinstance(text, str) and f"@{bot_username.lower()}" in text.lower()


def update_metadata(update: Any, *, bot_id: int | None = None, bot_username: str = "") -> dict[str, Any] | None:
    """The metadata of one update, or None when it is not an update we understand."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return None
    kind = next((key for key in UPDATE_TYPES if key in update), None)
    if kind is None or not isinstance(update[kind], dict):
        return None
    body: dict[str, Any] = update[kind]
    meta: dict[str, Any] = {"update_id": update["update_id"], "type": kind}
    user = chat = None

    if kind in MESSAGE_TYPES:
        user, chat = _user(body.get("from")), _chat(body.get("chat"))
        meta["content"] = next((key for key in CONTENT_KINDS if key in body), "other")
        meta["command"] = _command(body)
        meta["addressed"] = _addressed(body, chat, bot_id, bot_username)
    elif kind in FROM_TYPES:
        user = _user(body.get("from"))
        if kind == "callback_query":
            message = body.get("message")
            chat = _chat(message.get("chat")) if isinstance(message, dict) else None
            meta["callback_query_id"] = str(body.get("id", ""))
        elif kind == "inline_query":
            meta["inline_query_id"] = str(body.get("id", ""))
            meta["chat_type"] = str(body.get("chat_type", ""))
        elif kind in ("my_chat_member", "chat_member", "chat_join_request"):
            chat = _chat(body.get("chat"))
            new = body.get("new_chat_member")
            if isinstance(new, dict):
                meta["member_status"] = str(new.get("status", ""))
    elif kind in USER_TYPES:
        user = _user(body.get("user"))
        if kind == "message_reaction":
            chat = _chat(body.get("chat"))
    elif kind in CHAT_ONLY_TYPES:
        chat = _chat(body.get("chat"))
        if kind == "chat_boost":
            source = (body.get("boost") or {}).get("source") if isinstance(body.get("boost"), dict) else None
            user = _user(source.get("user")) if isinstance(source, dict) else None

    date = body.get("date")
    if date is None and isinstance(body.get("message"), dict):
        date = body["message"].get("date")  # a callback query has no date of its own
    if isinstance(date, int):
        meta["date"] = date
    if user:
        meta["user"] = user
    if chat:
        meta["chat"] = chat
    return meta
