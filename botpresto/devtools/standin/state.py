"""What the stand-in keeps per bot, and the read-only snapshots it hands to tests."""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_CONNECTIONS = 40
# Telegram leaves these out unless allowed_updates names them.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Update types queued per sender rather than per chat, and the queue family each uses.
PER_SENDER = {
    "callback_query": "callback_query",
    "inline_query": "inline_query",
    "chosen_inline_result": "chosen_inline_result",
    "shipping_query": "payment",
    "pre_checkout_query": "payment",
}
QueueKey = tuple[str, int]
SHARED_QUEUE: QueueKey = ("shared", 0)


@dataclass(frozen=True)
class Call:
    """One Bot API call as the stand-in received it."""

    token: str
    method: str
    params: dict[str, Any]
    time: float
    source: str  # "api" or "webhook_reply"
    files: dict[str, bytes] = field(default_factory=dict)
    error_code: int | None = None  # None when the call succeeded


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of an update to a webhook."""

    update_id: int
    url: str
    time: float
    status: int | None  # None when no HTTP answer came
    error: str | None  # "connection_refused", "read_timeout", ... when no HTTP answer came
    content_type: str
    body: bytes


@dataclass(frozen=True)
class BotState:
    """A copy of a bot's state at one moment."""

    token: str
    id: int
    username: str
    first_name: str
    revoked: bool
    webhook_url: str
    secret_token: str | None
    max_connections: int | None
    allowed_updates: list[str] | None
    ip_address: str | None
    certificate: bytes | None
    has_custom_certificate: bool
    pending_update_count: int
    last_error_date: int | None
    last_error_message: str | None
    delivered: list[dict[str, Any]]


@dataclass
class RateLimit:
    method: str | None  # lower case; None for every method
    retry_after: int
    remaining: int


@dataclass
class Queue:
    key: QueueKey
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    in_flight: bool = False
    fail_count: int = 0
    delay: float = 0.0
    retry_at: float = 0.0  # time.monotonic()

    def reset_retries(self) -> None:
        self.fail_count, self.delay, self.retry_at = 0, 0.0, 0.0


def update_type(update: dict[str, Any]) -> str | None:
    return next((key for key in update if key != "update_id"), None)


def queue_key(kind: str | None, payload: Any) -> QueueKey:
    if not isinstance(payload, dict):
        return SHARED_QUEUE
    sender = payload.get("from")
    if kind in PER_SENDER and isinstance(sender, dict) and isinstance(sender.get("id"), int):
        return (PER_SENDER[kind], sender["id"])
    chat = payload.get("chat")
    if isinstance(chat, dict) and isinstance(chat.get("id"), int):
        return ("chat", chat["id"])
    return SHARED_QUEUE


@dataclass
class Bot:
    token: str
    id: int
    username: str
    first_name: str
    revoked: bool = False
    webhook_url: str = ""
    secret_token: str | None = None
    max_connections: int | None = None
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    certificate: bytes | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    gone_since: float | None = None  # time.monotonic() of the first 410 in a row
    next_update_id: int = 1
    next_message_id: int = 1
    workers: int = 0
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    queues: dict[QueueKey, Queue] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    rate_limits: list[RateLimit] = field(default_factory=list)

    @property
    def connection_limit(self) -> int:
        return self.max_connections or DEFAULT_MAX_CONNECTIONS

    def pending_update_count(self) -> int:
        return sum(len(queue.updates) for queue in self.queues.values())

    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def snapshot(self) -> BotState:
        return BotState(
            token=self.token,
            id=self.id,
            username=self.username,
            first_name=self.first_name,
            revoked=self.revoked,
            webhook_url=self.webhook_url,
            secret_token=self.secret_token,
            max_connections=self.max_connections,
            allowed_updates=list(self.allowed_updates) if self.allowed_updates is not None else None,
            ip_address=self.ip_address,
            certificate=self.certificate,
            has_custom_certificate=self.certificate is not None,
            pending_update_count=self.pending_update_count(),
            last_error_date=self.last_error_date,
            last_error_message=self.last_error_message,
            delivered=copy.deepcopy(self.delivered),
        )

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": self.certificate is not None,
            "pending_update_count": self.pending_update_count(),
        }
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message or ""
        if self.webhook_url and self.max_connections:
            info["max_connections"] = self.max_connections
        if self.webhook_url and self.ip_address:
            info["ip_address"] = self.ip_address
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    def set_webhook(
        self,
        url: str,
        *,
        secret_token: str | None,
        max_connections: int | None,
        ip_address: str | None,
        certificate: bytes | None,
    ) -> None:
        """Point the bot at a new webhook; like Telegram, delivery starts afresh there."""
        self.webhook_url = url
        self.secret_token = secret_token if url else None
        self.max_connections = (max_connections or DEFAULT_MAX_CONNECTIONS) if url else None
        self.ip_address = ip_address if url else None
        self.certificate = certificate if url else None
        self.last_error_date = self.last_error_message = None
        self.gone_since = None
        for queue in self.queues.values():
            queue.reset_retries()

    def is_allowed(self, kind: str | None) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in NOT_BY_DEFAULT

    def numbered(self, update: dict[str, Any]) -> dict[str, Any]:
        """The update with its update_id, which comes first as in Telegram's updates."""
        given = update.get("update_id")
        if isinstance(given, int):
            self.next_update_id = max(self.next_update_id, given + 1)
            return dict(update)
        self.next_update_id += 1
        return {"update_id": self.next_update_id - 1, **update}

    def enqueue(self, update: dict[str, Any]) -> None:
        kind = update_type(update)
        payload = update.get(kind) if kind else None
        self.remember_chats(kind, payload)
        if not self.is_allowed(kind):
            return
        key = queue_key(kind, payload)
        self.queues.setdefault(key, Queue(key)).updates.append(update)

    def remember_chats(self, kind: str | None, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        message = payload.get("message")
        for chat in (payload.get("chat"), message.get("chat") if isinstance(message, dict) else None):
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                self.chats[chat["id"]] = chat
        chat = payload.get("chat")
        if kind == "my_chat_member" and isinstance(chat, dict) and chat.get("type") == "private":
            # In a private chat the bot's own member status says whether the user blocked it.
            status = (payload.get("new_chat_member") or {}).get("status")
            if status == "kicked":
                self.blocked.add(chat["id"])
            elif status == "member":
                self.blocked.discard(chat["id"])

    def drop_pending_updates(self) -> None:
        # An update in flight stays until its answer comes; the worker holding it needs the queue.
        for key, queue in list(self.queues.items()):
            if queue.in_flight:
                while len(queue.updates) > 1:
                    queue.updates.pop()
            else:
                del self.queues[key]

    def next_ready(self, now: float) -> tuple[Queue | None, float | None]:
        """The queue whose head should go out now, else when the next one will be due."""
        waiting = [queue for queue in self.queues.values() if not queue.in_flight and queue.updates]
        ready = [queue for queue in waiting if queue.retry_at <= now]
        if ready:
            return min(ready, key=lambda queue: (queue.retry_at, queue.updates[0]["update_id"])), None
        if waiting:
            return None, min(queue.retry_at for queue in waiting)
        return None, None

    def take_rate_limit(self, method: str) -> int | None:
        for limit in self.rate_limits:
            if limit.remaining > 0 and limit.method in (None, method.lower()):
                limit.remaining -= 1
                if limit.remaining == 0:
                    self.rate_limits.remove(limit)
                return limit.retry_after
        return None
