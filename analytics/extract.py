"""Turn a Telegram update into metadata, leaving out everything a user wrote.

What comes out: update type and id, date, user's public profile, chat id and
type, kind of content, command name, language, whether the update was
addressed to the bot, and a deep link's ``/start`` payload (the campaign a user
came from: at most 64 of the characters Telegram allows in one, nothing else of
the text). Never text, captions, callback data, inline query text,
poll options, file ids, phone numbers or locations. Unknown shapes are
skipped, not guessed at: a field of the wrong type is left out, an enum value
we do not know becomes "other", so nothing a user typed can slip through a
field that should hold a Telegram constant.
"""

from __future__ import annotations

import re
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

# Checked in this order: the first key a message has names its content. A venue
# also carries a location and an animation also carries a document, so they come first.
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
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
    "game",
    "invoice",
    "successful_payment",
    "refunded_payment",
    "story",
    "paid_media",
    "checklist",
    "giveaway",
    "giveaway_winners",
    "gift",
    "unique_gift",
    "web_app_data",
    "users_shared",
    "chat_shared",
    "passport_data",
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "migrate_to_chat_id",
    "pinned_message",
    "forum_topic_created",
    "forum_topic_closed",
    "forum_topic_reopened",
    "video_chat_started",
    "video_chat_ended",
    "write_access_allowed",
    "boost_added",
)

CHAT_TYPES = frozenset({"private", "group", "supergroup", "channel"})
INLINE_CHAT_TYPES = CHAT_TYPES | {"sender"}
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})

_STR_FIELDS = ("first_name", "last_name")
_BOOL_FIELDS = ("is_bot", "is_premium")
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_COMMAND = re.compile(r"[A-Za-z0-9_]{1,32}")
# What t.me/<bot>?start=<payload> allows: the whole rest of "/start <payload>", or nothing is kept.
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME_LIMIT = 256  # Telegram allows 64; anything longer is not a real name


def _int(value: Any) -> int | None:
    return value if type(value) is int else None  # bool is an int subclass: refuse it


def _user(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or _int(data.get("id")) is None:
        return None
    user: dict[str, Any] = {"id": data["id"]}
    for key in _BOOL_FIELDS:
        if isinstance(data.get(key), bool):
            user[key] = data[key]
    for key in _STR_FIELDS:
        if isinstance(data.get(key), str):
            user[key] = data[key][:_NAME_LIMIT]
    username = data.get("username")
    if isinstance(username, str) and _USERNAME.fullmatch(username):
        user["username"] = username
    language = data.get("language_code")
    if isinstance(language, str) and len(language) <= 35 and _LANGUAGE.fullmatch(language):
        user["language_code"] = language
    return user


def _chat(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or _int(data.get("id")) is None:
        return None
    kind = data.get("type")
    return {"id": data["id"], "type": kind if kind in CHAT_TYPES else "other"}


def _command(message: dict[str, Any]) -> str | None:
    text = message.get("text")
    if not isinstance(text, str) or not text.startswith("/"):
        return None
    name = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
    name = name.split("@", 1)[0].lower()
    # Only a well-formed command name is kept, never free text.
    return name if _COMMAND.fullmatch(name) else None


def _start_payload(message: dict[str, Any]) -> str | None:
    """The payload of a deep link's "/start <payload>" (or "/start@bot <payload>" in a group), else None."""
    text = message.get("text")
    if not isinstance(text, str):
        return None
    command, _, rest = text.partition(" ")
    if command.split("@", 1)[0].lower() != "/start":
        return None
    return rest if START_PAYLOAD.fullmatch(rest) else None


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


def _date(kind: str, body: dict[str, Any]) -> int | None:
    """When the update happened, by its own clock; None when it carries no date of its own.

    An edit happened at edit_date (date is the original message's); a callback
    query has no date (its message's date is when the button was sent).
    """
    if kind == "chat_boost":
        boost = body.get("boost")
        candidates = [boost.get("add_date")] if isinstance(boost, dict) else []
    elif kind == "removed_chat_boost":
        candidates = [body.get("remove_date")]
    else:
        candidates = [body.get("edit_date"), body.get("date")]
    for value in candidates:
        date = _int(value)
        if date is not None and date > 0:
            return date
    return None


def update_metadata(update: Any, *, bot_id: int | None = None, bot_username: str = "") -> dict[str, Any] | None:
    """The metadata of one update, or None when it is not an update we understand."""
    if not isinstance(update, dict) or _int(update.get("update_id")) is None:
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
        if kind == "message" and meta["command"] == "start":
            payload = _start_payload(body)
            if payload is not None:
                meta["start_payload"] = payload
    elif kind in FROM_TYPES:
        user = _user(body.get("from"))
        if kind == "callback_query":
            message = body.get("message")
            chat = _chat(message.get("chat")) if isinstance(message, dict) else None
            meta["callback_query_id"] = str(body.get("id", ""))
        elif kind == "inline_query":
            meta["inline_query_id"] = str(body.get("id", ""))
            chat_type = body.get("chat_type")
            meta["chat_type"] = chat_type if chat_type in INLINE_CHAT_TYPES else ("other" if chat_type else "")
        elif kind in ("my_chat_member", "chat_member", "chat_join_request"):
            chat = _chat(body.get("chat"))
            new = body.get("new_chat_member")
            if isinstance(new, dict):
                status = new.get("status")
                meta["member_status"] = status if status in MEMBER_STATUSES else "other"
    elif kind in USER_TYPES:
        user = _user(body.get("user"))
        if kind == "message_reaction":
            chat = _chat(body.get("chat"))
    elif kind in CHAT_ONLY_TYPES:
        chat = _chat(body.get("chat"))
        if kind == "chat_boost":
            boost = body.get("boost")
            source = boost.get("source") if isinstance(boost, dict) else None
            if isinstance(source, dict) and source.get("source") == "premium":  # else the user did not act
                user = _user(source.get("user"))

    date = _date(kind, body)
    if date is not None:
        meta["date"] = date
    if user:
        meta["user"] = user
    if chat:
        meta["chat"] = chat
    return meta


def metadata_clean(meta: Any) -> dict[str, Any] | None:
    """Metadata read back from the buffer, checked again key by key.

    The buffer is JSON written by another process (maybe another version):
    only the keys and values update_metadata can produce pass, so nothing
    else ever reaches the database or Mixpanel.
    """
    if not isinstance(meta, dict) or _int(meta.get("update_id")) is None or meta.get("type") not in UPDATE_TYPES:
        return None
    clean: dict[str, Any] = {"update_id": meta["update_id"], "type": meta["type"]}
    user, chat = _user(meta.get("user")), _chat(meta.get("chat"))
    if user:
        if "language_code" in user:  # tags are case-insensitive: one spelling to filter and group by
            user["language_code"] = user["language_code"].lower()
        clean["user"] = user
    if chat:
        clean["chat"] = chat
    date = _int(meta.get("date"))
    if date is not None and date > 0:
        clean["date"] = date
    if meta.get("content") in CONTENT_KINDS:
        clean["content"] = meta["content"]
    elif "content" in meta:
        clean["content"] = "other"
    command = meta.get("command")
    if isinstance(command, str) and _COMMAND.fullmatch(command):
        clean["command"] = command.lower()
    if isinstance(meta.get("addressed"), bool):
        clean["addressed"] = meta["addressed"]
    payload = meta.get("start_payload")
    if clean["type"] == "message" and isinstance(payload, str) and START_PAYLOAD.fullmatch(payload):
        clean["start_payload"] = payload
    if meta.get("member_status") in MEMBER_STATUSES:
        clean["member_status"] = meta["member_status"]
    if meta.get("chat_type") in INLINE_CHAT_TYPES:
        clean["chat_type"] = meta["chat_type"]
    return clean
