"""The Bot API methods the stand-in answers like Telegram; any other method just answers true."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botpresto.devtools.standin.state import DEFAULT_MAX_CONNECTIONS, Bot
from botpresto.devtools.standin.wire import Files, Params, as_bool, as_int, as_str_list

Result = tuple[Any, str | None]  # the result, and the description Telegram adds to some answers

WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]*")


class ApiError(Exception):
    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            answer["parameters"] = {"retry_after": self.retry_after}
        return answer


def get_me(bot: Bot, params: Params, files: Files, *, allow_http: bool) -> Result:
    me = bot.user()
    me.update({"can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False})
    return me, None


def get_webhook_info(bot: Bot, params: Params, files: Files, *, allow_http: bool) -> Result:
    return bot.webhook_info(), None


def check_webhook_url(url: str, *, allow_http: bool) -> None:
    # Telegram reads a URL without a scheme as HTTPS.
    parts = urlsplit(url if "://" in url else f"https://{url}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ApiError(400, "Bad Request: invalid webhook URL specified")
    if allow_http:
        return
    if parts.scheme != "https":
        raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if port is not None and port not in WEBHOOK_PORTS:
        raise ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def set_webhook(bot: Bot, params: Params, files: Files, *, allow_http: bool) -> Result:
    url = str(params.get("url") or "")
    if not url:
        return delete_webhook(bot, params, files, allow_http=allow_http)
    check_webhook_url(url, allow_http=allow_http)
    secret_token = str(params.get("secret_token") or "")
    if len(secret_token) > 256:
        raise ApiError(400, "Bad Request: secret token is too long")
    if not SECRET_TOKEN.fullmatch(secret_token):
        raise ApiError(400, "Bad Request: secret token contains unallowed characters")
    # Telegram clamps max_connections into 1..100 rather than refusing it.
    max_connections = min(max(as_int(params.get("max_connections"), DEFAULT_MAX_CONNECTIONS), 1), 100)
    ip_address = str(params.get("ip_address") or "") or None
    certificate = files.get("certificate")
    attached = str(params.get("certificate") or "")
    if certificate is None and attached.startswith("attach://"):
        certificate = files.get(attached.removeprefix("attach://"))
    drop = as_bool(params.get("drop_pending_updates"))

    allowed_updates = as_str_list(params.get("allowed_updates"))
    if allowed_updates is not None:
        bot.allowed_updates = allowed_updates or None
    if drop:
        bot.drop_pending_updates()
    unchanged = (
        url == bot.webhook_url
        and certificate is None
        and bot.certificate is None
        and max_connections == bot.max_connections
        and ip_address == bot.ip_address
        and (secret_token or None) == bot.secret_token
        and not drop
    )
    if unchanged:
        return True, "Webhook is already set"
    bot.set_webhook(
        url,
        secret_token=secret_token or None,
        max_connections=max_connections,
        ip_address=ip_address,
        certificate=certificate,
    )
    return True, "Webhook was set"


def delete_webhook(bot: Bot, params: Params, files: Files, *, allow_http: bool) -> Result:
    if as_bool(params.get("drop_pending_updates")):
        bot.drop_pending_updates()
    if not bot.webhook_url:
        return True, "Webhook is already deleted"
    bot.set_webhook("", secret_token=None, max_connections=None, ip_address=None, certificate=None)
    return True, "Webhook was deleted"


def find_chat(bot: Bot, chat_id: Any) -> dict[str, Any]:
    if chat_id is None or chat_id == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    chat: dict[str, Any] | None
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        username = chat_id[1:].lower()
        chat = next((c for c in bot.chats.values() if str(c.get("username", "")).lower() == username), None)
    else:
        try:
            chat = bot.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
    if chat is None:
        raise ApiError(400, "Bad Request: chat not found")
    if chat["id"] in bot.blocked:
        if chat.get("type", "private") == "private":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        raise ApiError(403, f"Forbidden: bot was kicked from the {chat.get('type')} chat")
    return chat


def send_message(bot: Bot, params: Params, files: Files, *, allow_http: bool) -> Result:
    chat = find_chat(bot, params.get("chat_id"))
    text = params.get("text")
    if not text:
        raise ApiError(400, "Bad Request: message text is empty")
    message = {"message_id": bot.next_message_id, "from": bot.user(), "chat": chat, "date": int(time.time())}
    message["text"] = str(text)
    bot.next_message_id += 1
    return message, None


def answer_true(bot: Bot, params: Params, files: Files, *, allow_http: bool) -> Result:
    return True, None


METHODS: dict[str, Callable[..., Result]] = {
    "getme": get_me,
    "getwebhookinfo": get_webhook_info,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "sendmessage": send_message,
}


def run(bot: Bot, method: str, params: Params, files: Files, *, allow_http: bool) -> Result:
    """Answer one call; raises ApiError the way Telegram fails it. Method names are case-insensitive."""
    handler = METHODS.get(method.lower(), answer_true)
    return handler(bot, params, files, allow_http=allow_http)
