"""POST /proxy/bot/<uuid>: Telegram's update goes to the owner's endpoint, the answer comes back.

No database query, no call to Telegram and no cache write while the request is
in flight: the route comes from the in-memory table, and everything else runs
after the answer is written (proxy.after).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from proxy import after
from proxy.guards import in_flight, secret_matches, source_address, source_allowed
from proxy.routes import Route, table
from proxy.upstream import OVERLOAD, TOO_LARGE, Outcome, forward

logger = logging.getLogger(__name__)

SECRET_META = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"


def _reject(status: int, reason: str, bot: str, address: str) -> HttpResponse:
    logger.info("proxy_rejected bot=%s reason=%s source=%s", bot, reason, address)
    return HttpResponse(status=status)


def _answer(route: Route, outcome: Outcome, body: bytes | None, received_at: float) -> HttpResponse:
    response = HttpResponse(outcome.body, status=outcome.status)
    if outcome.content_type:
        response["Content-Type"] = outcome.content_type
    else:
        del response["Content-Type"]
    if outcome.retry_after is not None:
        response["Retry-After"] = outcome.retry_after
    # Runs when the server closes the response, after Telegram has it.
    response._resource_closers.append(partial(after.finish, route, body, outcome, received_at))  # type: ignore[attr-defined]
    return response


@csrf_exempt
def bot_forward(request: HttpRequest, bot_uuid: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    received_at = time.time()
    address = source_address(request)
    if not source_allowed(address):
        return _reject(403, "source", "-", address)
    route = table.cached(bot_uuid)
    if route is None:
        try:
            key = str(UUID(bot_uuid))
        except ValueError:
            return _reject(404, "malformed_uuid", "-", address)
        route = table.get(key)
        if route is None:
            return _reject(404, "unknown_bot", key, address)
    if not secret_matches(request.META.get(SECRET_META), route.proxy_secret):
        return _reject(401, "secret", route.uuid, address)
    if not route.forwards:
        # 200, or Telegram would retry a disconnected bot's updates for a day.
        return _reject(200, f"not_forwarding:{route.status}", route.uuid, address)

    limit = settings.PROXY_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    body = None
    if length <= limit:
        # Without a length (chunked), read one byte past the limit to see whether it is over.
        body = request.read() if length >= 0 else request.META["wsgi.input"].read(limit + 1)
    if body is None or len(body) > limit:
        _reject(413, "too_large", route.uuid, address)
        return _answer(route, Outcome(status=413, error=TOO_LARGE), None, received_at)

    if not in_flight.enter(route.bot_id):
        outcome = Outcome(status=503, retry_after=str(settings.PROXY_RETRY_AFTER), error=OVERLOAD)
        return _answer(route, outcome, body, received_at)
    try:
        outcome = forward(route, body, request.META.get("CONTENT_TYPE") or None)
    finally:
        in_flight.leave(route.bot_id)
    return _answer(route, outcome, body, received_at)
