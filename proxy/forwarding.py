"""One update in, one answer out: the proxy's hot path, whatever server carries it.

No database query, no call to Telegram and no cache write while the update is in
flight: the route comes from the in-memory table, and everything else runs after
the answer is written (``Answer.after``, proxy.after).

The one rule every answer keeps: a 2xx only when the owner's endpoint answered 2xx
for this very update. Anything else (a route we cannot read, a body that did not
arrive whole, a refusal) is non-2xx, so Telegram keeps the update and retries it.
Updates of bots that are disconnected or bypassed are forwarded too: Telegram may
deliver one that was in flight when the webhook moved, and the endpoint we know is
still the owner's.

The servers' adapters (proxy.asgi for the proxy role, proxy.wsgi and the Django view
for the web role) hand over the request's CGI-style headers (``meta``), the path
under /proxy/ and the body they read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings

from proxy import after
from proxy.guards import in_flight, secret_matches, source_address, source_allowed, tenant_rate
from proxy.rejects import rejects
from proxy.routes import Route, RoutesUnavailable, RouteUnreadable, table
from proxy.upstream import HOP_HEADER, OVERLOAD, TOO_LARGE, Outcome, forward

SECRET_META = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"
HOP_META = "HTTP_" + HOP_HEADER.upper().replace("-", "_")
BOT_PREFIX = "bot/"


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    after: Callable[[], None] | None = None  # to run once the answer is written


def _reject(status: int, reason: str, bot: str, address: str, *, retry: bool = False) -> Answer:
    rejects.note(reason, bot, address)
    return Answer(status, headers=[("Retry-After", str(settings.PROXY_RETRY_AFTER))] if retry else [])


def _relay(route: Route, outcome: Outcome, body: bytes | None, received_at: float) -> Answer:
    headers = [("Content-Type", outcome.content_type)] if outcome.content_type else []
    if outcome.retry_after is not None:
        headers.append(("Retry-After", outcome.retry_after))
    return Answer(outcome.status, outcome.body, headers, partial(after.finish, route, body, outcome, received_at))


def _bot_key(path: str) -> str | None:
    """The canonical uuid of ``bot/<uuid>``, or None for any other path under /proxy/."""
    if not path.startswith(BOT_PREFIX):
        return None
    raw = path[len(BOT_PREFIX) :]
    if table.cached(raw) is not None:
        return raw
    try:
        return str(UUID(raw)) if len(raw) <= 40 else None
    except ValueError:
        return None


def _unforwarded(body: bytes, kinds: frozenset[str]) -> bool:
    """Whether the update is of a type the owner did not ask for (we subscribed the bot to it).

    The byte search costs next to nothing and almost never matches; only then is the body parsed.
    """
    if not any(f'"{kind}"'.encode() in body for kind in kinds):
        return False
    try:
        update = json.loads(body)
    except (ValueError, RecursionError):
        return False  # the endpoint gets what we cannot read
    return isinstance(update, dict) and any(kind in update for kind in kinds)


def update_forward(meta: Mapping[str, str], path: str, body: bytes | None, refusal: str | None = None) -> Answer:
    """Check, forward, relay. ``refusal`` says why the adapter could not read a whole body (body is None)."""
    received_at = time.time()
    address = source_address(meta)
    key = _bot_key(path)
    if key is None:
        return _reject(404, "path", "-", address)
    if meta.get("REQUEST_METHOD") != "POST":
        answer = _reject(405, "method", key, address)
        answer.headers.append(("Allow", "POST"))
        return answer
    if not source_allowed(address):
        return _reject(403, "source", key, address)
    if meta.get(HOP_META):
        # Our own forward came back to us: an endpoint pointing at this service would loop.
        return _reject(508, "loop", key, address)
    try:
        route = table.get(key)
    except RoutesUnavailable:
        return _reject(503, "routes_unavailable", key, address, retry=True)
    except RouteUnreadable:
        return _reject(503, "unreadable", key, address, retry=True)
    if route is None:
        return _reject(404, "unknown_bot", key, address)
    if not secret_matches(meta.get(SECRET_META), route.proxy_secret):
        return _reject(401, "secret", route.uuid, address)
    if refusal == TOO_LARGE:
        rejects.note(TOO_LARGE, route.uuid, address)
        return _relay(route, Outcome(status=413, error=TOO_LARGE), None, received_at)
    if body is None:
        return _reject(400, refusal or "body", route.uuid, address)
    if not tenant_rate.allow(route.tenant_id, received_at):
        return _reject(429, "tenant_rate", route.uuid, address, retry=True)
    if route.unforwarded and _unforwarded(body, route.unforwarded):
        return _relay(route, Outcome(status=200, filtered=True), body, received_at)

    if not in_flight.enter(route.bot_id):
        outcome = Outcome(status=503, retry_after=str(settings.PROXY_RETRY_AFTER), error=OVERLOAD)
        return _relay(route, outcome, body, received_at)
    try:
        outcome = forward(route, body, meta.get("CONTENT_TYPE") or None)
    finally:
        in_flight.leave(route.bot_id)
    return _relay(route, outcome, body, received_at)


def body_read(stream: Any, content_length: str | None) -> tuple[bytes | None, str | None]:
    """A whole body from a blocking stream, or why not: over the size limit, or shorter than announced."""
    limit = settings.PROXY_MAX_BODY_BYTES
    try:
        length = int(content_length or -1)
    except ValueError:
        return None, "bad_length"
    if length > limit:
        return None, TOO_LARGE
    # Without a length (chunked), read one byte past the limit to see whether it is over.
    body = stream.read(length) if length >= 0 else stream.read(limit + 1)
    if length >= 0 and len(body) < length:
        return None, "truncated"  # the client went away mid-body: never forward a fragment
    if len(body) > limit:
        return None, TOO_LARGE
    return body, None
