"""A local stand-in for the Telegram Bot API: answers Bot API calls and pushes updates to webhooks.

Tests drive it through the Python API of ``StandIn``; another process can drive it through the same
API over HTTP: ``POST {url}/_standin/<name>`` with the keyword arguments as a JSON object (or ``GET``
with a query string) answers ``{"ok": true, "result": ...}``, bytes as base64.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from botpresto.devtools.standin import methods, persist
from botpresto.devtools.standin.delivery import Dispatcher
from botpresto.devtools.standin.httpd import Handler, Server
from botpresto.devtools.standin.state import Bot, BotState, Call, DeliveryAttempt, RateLimit
from botpresto.devtools.standin.wire import Files, Params, parse_body

logger = logging.getLogger(__name__)

TOKEN = re.compile(r"([1-9][0-9]{0,19}):[A-Za-z0-9_-]+")
TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"
# Telegram does not run these when a webhook answer asks for them.
IGNORED_IN_REPLIES = frozenset({"setwebhook", "deletewebhook", "close", "logout"})
CONTROL = frozenset(
    {
        "add_bot",
        "bots",
        "bot",
        "revoke",
        "push_update",
        "push_updates",
        "calls",
        "clear_calls",
        "rate_limit",
        "block_chat",
        "add_chat",
        "delivery_log",
    }
)


class StandIn:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_http: bool = True,
        read_timeout: float = 60.0,
        retry_base_delay: float = 1.0,
        retry_max_delay: float = 60.0,
        gone_after: float = 23 * 3600.0,
        state_file: Path | str | None = None,
    ) -> None:
        self.host = host
        # Kept across restarts when given (botpresto.devtools.standin.persist): bots, webhooks, queued updates.
        self.state_file = Path(state_file) if state_file else None
        self._saved = ""
        self._stopping = threading.Event()
        self.port = port
        self.allow_http = allow_http
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._bots: dict[str, Bot] = {}
        self._calls: list[Call] = []
        self._dispatcher = Dispatcher(
            self._changed,
            self._run_reply,
            read_timeout=read_timeout,
            retry_base_delay=retry_base_delay,
            retry_max_delay=retry_max_delay,
            gone_after=gone_after,
        )
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # Running

    def start(self) -> StandIn:
        if self._server is not None:
            raise RuntimeError("the stand-in is already started")
        if self.state_file is not None and self.state_file.exists():
            with self._lock:
                for token, bot in persist.bots_load(self.state_file.read_text()).items():
                    self._bots.setdefault(token, bot)
                    self._dispatcher.kick(self._bots[token])
            logger.info("standin_state_loaded file=%s bots=%d", self.state_file, len(self._bots))
        if self.state_file is not None:
            self._stopping.clear()
            threading.Thread(target=self._keep_saving, name="standin-save", daemon=True).start()
        self._server = Server((self.host, self.port), Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="standin-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._dispatcher.stop(timeout=0.5)
        self.save()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(1.0)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def save(self) -> None:
        """Write the state to ``state_file`` (when set and changed)."""
        if self.state_file is None:
            return
        with self._lock:
            text = persist.bots_dump(self._bots)
            if text == self._saved:
                return
            persist.write_atomic(self.state_file, text)
            self._saved = text

    def _keep_saving(self) -> None:
        # Deliveries change the queues from the dispatcher's threads: written within half a second.
        while not self._stopping.wait(0.5):
            try:
                self.save()
            except OSError:
                logger.exception("standin_state_not_saved file=%s", self.state_file)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        return f"http://{self.host}:{self.port}"

    # Bots

    def add_bot(
        self,
        token: str | None = None,
        *,
        username: str,
        first_name: str = "Test Bot",
        webhook_url: str = "",
        secret_token: str | None = None,
        max_connections: int | None = None,
        allowed_updates: list[str] | None = None,
        ip_address: str | None = None,
    ) -> BotState:
        if token is None:
            bot_id = secrets.randbelow(9_000_000_000) + 1_000_000_000
            token = f"{bot_id}:" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(35))
        match = TOKEN.fullmatch(token)
        if match is None:
            raise ValueError("a token reads <bot id>:<secret>")
        bot = Bot(token=token, id=int(match[1]), username=username, first_name=first_name)
        bot.allowed_updates = list(allowed_updates) if allowed_updates else None
        bot.set_webhook(
            webhook_url,
            secret_token=secret_token,
            max_connections=max_connections,
            ip_address=ip_address,
            certificate=None,
        )
        with self._lock:
            if token in self._bots:
                raise ValueError(f"bot {bot.id} is already added")
            self._bots[token] = bot
            return bot.snapshot()

    def bots(self) -> list[BotState]:
        with self._lock:
            return [bot.snapshot() for bot in self._bots.values()]

    def bot(self, token: str) -> BotState:
        with self._lock:
            return self._bot(token).snapshot()

    def revoke(self, token: str) -> None:
        with self._lock:
            bot = self._bot(token)
            bot.revoked = True
            self._dispatcher.kick(bot)

    def rotate_token(self, token: str) -> str:
        """What /revoke in @BotFather does: the same bot, webhook and queue under a new token.

        The old token answers 401 from now on. Returns the new token.
        """
        with self._lock:
            bot = self._bot(token)
            new = f"{bot.id}:" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(35))
            del self._bots[token]
            bot.token = new
            self._bots[new] = bot
            return new

    def add_chat(self, token: str, chat: dict[str, Any]) -> None:
        with self._lock:
            self._bot(token).chats[int(chat["id"])] = dict(chat)

    def block_chat(self, token: str, chat_id: int) -> None:
        with self._lock:
            bot = self._bot(token)
            bot.chats.setdefault(int(chat_id), {"id": int(chat_id), "type": "private"})
            bot.blocked.add(int(chat_id))

    def rate_limit(self, token: str, method: str | None = None, *, retry_after: int, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` (of any method when None) answer 429."""
        with self._lock:
            limit = RateLimit(method.lower() if method else None, int(retry_after), int(count))
            self._bot(token).rate_limits.append(limit)

    # Updates

    def push_update(self, token: str, update: dict[str, Any]) -> int:
        """Queue an update for the bot; assigns ``update_id`` when missing and returns it."""
        with self._lock:
            bot = self._bot(token)
            update = bot.numbered(update)
            bot.enqueue(update)
            self._dispatcher.kick(bot)
            return int(update["update_id"])

    def push_updates(self, token: str, updates: list[dict[str, Any]]) -> list[int]:
        with self._lock:
            return [self.push_update(token, update) for update in updates]

    def delivery_log(self, token: str) -> list[DeliveryAttempt]:
        with self._lock:
            return list(self._bot(token).attempts)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"the condition did not hold within {timeout} s")
            time.sleep(0.01)

    def wait_idle(self, token: str, timeout: float = 10.0) -> None:
        """Wait until the bot has no pending update left."""
        self.wait_for(lambda: self.bot(token).pending_update_count == 0, timeout)

    # Calls

    def calls(self, token: str | None = None, method: str | None = None, source: str | None = None) -> list[Call]:
        with self._lock:
            return [
                call
                for call in self._calls
                if (token is None or call.token == token)
                and (method is None or call.method.lower() == method.lower())
                and (source is None or call.source == source)
            ]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def handle_call(
        self, token: str, method: str, params: Params, files: Files, source: str = "api"
    ) -> tuple[int, Any]:
        """Answer one Bot API call: the HTTP status and the JSON answer."""
        with self._lock:
            try:
                bot = self._bots.get(token)
                if bot is None or bot.revoked:
                    raise methods.ApiError(401, "Unauthorized")
                retry_after = bot.take_rate_limit(method)
                if retry_after is not None:
                    raise methods.ApiError(
                        429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                    )
                result, description = methods.run(bot, method, params, files, allow_http=self.allow_http)
                answer: dict[str, Any] = {"ok": True, "result": result}
                if description:
                    answer["description"] = description
                status, error_code = 200, None
                if method.lower() in ("setwebhook", "deletewebhook"):
                    self._dispatcher.kick(bot)
                    self.save()  # at once: a restart right after must not forget whose webhook it is
            except methods.ApiError as exc:
                answer, status, error_code = exc.payload(), exc.code, exc.code
            self._calls.append(Call(token, method, params, time.time(), source, files, error_code))
            return status, answer

    def _run_reply(self, bot: Bot, content_type: str, body: bytes) -> None:
        try:
            params, files = parse_body(content_type, body)
        except ValueError:
            return
        method = str(params.pop("method", "") or "")
        name = method.lower()
        if name and name not in IGNORED_IN_REPLIES and not name.startswith("get"):
            self.handle_call(bot.token, method, params, files, source="webhook_reply")

    def _bot(self, token: str) -> Bot:
        bot = self._bots.get(token)
        if bot is None:
            match = TOKEN.fullmatch(token)
            raise KeyError(f"no bot {match[1] if match else '(malformed token)'}")
        return bot

    # HTTP

    def handle_http(self, path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path.startswith("/_standin/"):
            return self._control(parts.path.removeprefix("/_standin/"), query, content_type, body)
        token, _, method = unquote(parts.path.removeprefix("/bot")).partition("/")
        if not parts.path.startswith("/bot") or not TOKEN.fullmatch(token) or not method or "/" in method:
            # api.telegram.org answers 404 to anything that does not look like /bot<id>:<secret>/<method>.
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            params, files = parse_body(content_type, body)
        except (ValueError, UnicodeDecodeError):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse request body"}
        return self.handle_call(token, method, {**query, **params}, files)

    def _control(self, name: str, query: dict[str, str], content_type: str, body: bytes) -> tuple[int, Any]:
        if name not in CONTROL:
            return 404, {"ok": False, "description": f"no control endpoint {name!r}"}
        try:
            kwargs: dict[str, Any] = {**query, **(json.loads(body) if body else {})}
            result = getattr(self, name)(**kwargs)
        except KeyError as exc:
            return 404, {"ok": False, "description": str(exc.args[0]) if exc.args else "not found"}
        except (TypeError, ValueError) as exc:
            return 400, {"ok": False, "description": str(exc)}
        return 200, {"ok": True, "result": to_json(result)}


def to_json(value: Any) -> Any:
    """Dataclasses as objects and bytes as base64, for the control endpoints."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(dataclasses.asdict(value))
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


__all__ = ["BotState", "Call", "DeliveryAttempt", "StandIn"]
