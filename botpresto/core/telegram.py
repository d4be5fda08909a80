"""A small Telegram Bot API client.

The token is part of every URL, so nothing here lets a URL escape: errors are
re-raised as our own types with ``from None`` (no chained traceback holding
the URL), and urllib3's URL logging is silenced in settings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)


class TelegramError(Exception):
    """Base of every Bot API failure; the message never contains the token."""

    def __init__(self, method: str, description: str, error_code: int | None = None) -> None:
        super().__init__(f"{method}: {description}")
        self.method = method
        self.description = description
        self.error_code = error_code


class TokenRevoked(TelegramError):
    """401: the token is invalid or was revoked. Ask the owner for a new one."""


class RateLimited(TelegramError):
    """429: wait ``retry_after`` seconds before calling again."""

    def __init__(self, method: str, description: str, retry_after: int) -> None:
        super().__init__(method, description, 429)
        self.retry_after = retry_after


class PermanentError(TelegramError):
    """400/403 and other 4xx: retrying the same call will not help."""


class TelegramUnavailable(TelegramError):
    """5xx, connection error or timeout: worth retrying later."""


@dataclass(frozen=True)
class BotInfo:
    id: int
    username: str
    first_name: str


@dataclass(frozen=True)
class WebhookInfo:
    url: str
    has_custom_certificate: bool = False
    pending_update_count: int = 0
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    last_synchronization_error_date: int | None = None
    max_connections: int | None = None
    allowed_updates: list[str] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> WebhookInfo:
        return cls(
            url=data.get("url", ""),
            has_custom_certificate=bool(data.get("has_custom_certificate")),
            pending_update_count=int(data.get("pending_update_count") or 0),
            ip_address=data.get("ip_address"),
            last_error_date=data.get("last_error_date"),
            last_error_message=data.get("last_error_message"),
            last_synchronization_error_date=data.get("last_synchronization_error_date"),
            max_connections=data.get("max_connections"),
            allowed_updates=data.get("allowed_updates"),
            raw=data,
        )


class TelegramClient:
    def __init__(self, base_url: str | None = None) -> None:
        self._base_url = base_url
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    @property
    def base_url(self) -> str:
        # Read at call time so settings overrides (tests, the demo) apply.
        return (self._base_url or settings.TELEGRAM_API_URL).rstrip("/")

    def call(
        self,
        token: str,
        method: str,
        params: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> Any:
        url = f"{self.base_url}/bot{token}/{method}"
        timeout = (settings.TELEGRAM_CONNECT_TIMEOUT, settings.TELEGRAM_READ_TIMEOUT)
        try:
            if files:
                # multipart: every field is a string, arrays as JSON.
                data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}
                response = self.session.post(url, data=data, files=files, timeout=timeout)
            else:
                response = self.session.post(url, json=params or {}, timeout=timeout)
        except requests.Timeout:
            raise TelegramUnavailable(method, "Telegram did not answer in time") from None
        except requests.RequestException as exc:
            raise TelegramUnavailable(method, f"could not reach Telegram ({type(exc).__name__})") from None

        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.ok and payload.get("ok"):
            return payload.get("result")

        code = int(payload.get("error_code") or response.status_code)
        description = str(payload.get("description") or response.reason or "error")
        logger.info("telegram_error method=%s code=%s description=%r", method, code, description)
        if code in (401, 404):
            # Telegram answers 404 for a token that is not even well-formed.
            raise TokenRevoked(method, description, code)
        if code == 429:
            retry_after = int((payload.get("parameters") or {}).get("retry_after") or 1)
            raise RateLimited(method, description, retry_after)
        if code >= 500:
            raise TelegramUnavailable(method, description, code)
        raise PermanentError(method, description, code)

    def get_me(self, token: str) -> BotInfo:
        result = self.call(token, "getMe")
        return BotInfo(
            id=int(result["id"]), username=result.get("username", ""), first_name=result.get("first_name", "")
        )

    def get_webhook_info(self, token: str) -> WebhookInfo:
        return WebhookInfo.from_api(self.call(token, "getWebhookInfo") or {})

    def set_webhook(
        self,
        token: str,
        *,
        url: str,
        secret_token: str | None = None,
        max_connections: int | None = None,
        allowed_updates: list[str] | None = None,
        ip_address: str | None = None,
        certificate: bytes | None = None,
    ) -> None:
        # drop_pending_updates is never sent: pending updates must follow the bot.
        params: dict[str, Any] = {"url": url}
        if secret_token:
            params["secret_token"] = secret_token
        if max_connections:
            params["max_connections"] = max_connections
        if allowed_updates is not None:
            params["allowed_updates"] = allowed_updates
        if ip_address:
            params["ip_address"] = ip_address
        files = {"certificate": ("certificate.pem", certificate)} if certificate else None
        self.call(token, "setWebhook", params, files=files)

    def delete_webhook(self, token: str) -> None:
        self.call(token, "deleteWebhook", {"drop_pending_updates": False})

    def send_message(self, token: str, *, chat_id: int, text: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call(token, "sendMessage", {"chat_id": chat_id, "text": text, **extra})
        return result

    def answer_callback_query(self, token: str, *, callback_query_id: str, text: str, show_alert: bool = False) -> None:
        self.call(
            token,
            "answerCallbackQuery",
            {"callback_query_id": callback_query_id, "text": text, "show_alert": show_alert},
        )

    def answer_inline_query(
        self, token: str, *, inline_query_id: str, results: list[dict[str, Any]], cache_time: int = 0, **extra: Any
    ) -> None:
        params = {"inline_query_id": inline_query_id, "results": results, "cache_time": cache_time, **extra}
        self.call(token, "answerInlineQuery", params)


telegram = TelegramClient()
