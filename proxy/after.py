"""Work per update that waits until Telegram has its answer.

The server adapters run ``finish`` once the answer is written (proxy.asgi right
after sending it; under WSGI the response's close(), which the server calls then):
parsing the update, the analytics record (the one write per update, batched by
the recorder) and handing failures to the outbox add no latency. Nothing here
waits on I/O: the recorder's and the outbox's threads do that.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from analytics.extract import update_metadata
from botpresto.core.metrics import forward_observe
from botpresto.notifications.notices import notice_target, notice_unblock_record
from proxy import health as endpoint_health
from proxy.outbox import outbox
from proxy.recorder import recorder
from proxy.routes import BACK_LOOK_SECONDS, Route
from proxy.upstream import OVERLOAD, TOO_LARGE, Outcome

logger = logging.getLogger(__name__)

# Successes are noted at most this often per bot and process (they end a failure streak).
SUCCESS_NOTE_SECONDS = 1.0


class Health:
    """What this process knows of each bot's endpoint, to skip the shared cache when nothing changed."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.last_success_note: dict[int, float] = {}
        self.failing: set[int] = set()
        self.last_failure: dict[int, float] = {}  # unix time of the bot's last failed forward in this process

    def success(self, route: Route, at: float) -> None:
        bot_id = route.bot_id
        now = time.monotonic()
        if now - self.last_success_note.get(bot_id, -SUCCESS_NOTE_SECONDS) < SUCCESS_NOTE_SECONDS:
            return  # a busy bot asks once a second, not once per update (a task and a transaction each)
        self.last_success_note[bot_id] = now
        # The bot stays "failing here" until _success has run: work dropped by the outbox (Redis away,
        # its pause after an error) is asked for again by this bot's next success a second later.
        outbox.put(_success, bot_id, at, bot_id in self.failing or route.failing)

    def failure(self, route: Route, outcome: Outcome, meta: dict[str, Any] | None, at: float) -> None:
        self.failing.add(route.bot_id)
        self.last_failure[route.bot_id] = at
        target = notice_target(meta) if route.notices else None
        outbox.put(
            _failure,
            route.bot_id,
            outcome.error,
            outcome.upstream_status,
            at,
            meta.get("update_id") if meta else None,
            target.as_json() if target else None,
            route.failing,
        )


health = Health()


def _success(bot_id: int, at: float, failing: bool) -> None:
    try:
        endpoint_health.success_record(bot_id=bot_id, at=at, failing=failing)
    except Exception:
        health.last_success_note.pop(bot_id, None)  # lost (Redis away): the bot's next success asks again at once
        raise
    if health.last_failure.get(bot_id, 0.0) <= at:  # a failure since this success starts a streak of its own
        health.failing.discard(bot_id)


def _failure(
    bot_id: int,
    error: str,
    status: int | None,
    at: float,
    update_id: int | None,
    notice: dict[str, Any] | None,
    failing: bool,
) -> None:
    endpoint_health.failure_record(
        bot_id=bot_id, error=error, upstream_status=status, at=at, update_id=update_id, notice=notice, failing=failing
    )


def _back_look(route: Route, meta: dict[str, Any], received_at: float) -> None:
    """An update went through: a chat told the bot was down may be owed a "we're back".

    Only for bots whose users were told in the last day (the route table knows within a second
    of the first notice), or that this process saw fail in that time: updates that get through
    in that second are not missed by the process that saw the failures.
    """
    failed_here = health.last_failure.get(route.bot_id, 0.0) + BACK_LOOK_SECONDS
    if received_at < max(route.back_until, failed_here):
        target = notice_target(meta)
        if target is not None and target.back_chat is not None:
            outbox.put(_back, route.bot_id, target.back_chat)


def _back(bot_id: int, chat_id: int) -> None:
    endpoint_health.back_record(bot_id=bot_id, chat_id=chat_id)


def _unblocked(bot_id: int, chat_id: int) -> None:
    notice_unblock_record(bot_id=bot_id, chat_id=chat_id)


def _parse(body: bytes | None, route: Route) -> tuple[dict[str, Any] | None, bool]:
    """The update's metadata (None if not understood), and whether the body was malformed."""
    if body is None:
        return None, False
    try:
        update = json.loads(body)
    except Exception:  # bad JSON, bad encoding, absurd nesting
        return None, True
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return None, True
    return update_metadata(update, bot_id=route.telegram_id, bot_username=route.username), False


def finish(route: Route, body: bytes | None, outcome: Outcome, received_at: float) -> None:
    try:
        meta, malformed = _parse(body, route)
        result: dict[str, Any] = {
            "status": outcome.status,
            "upstream_status": outcome.upstream_status,
            "latency_ms": round(outcome.latency_ms, 2),
            "error": outcome.error,
        }
        if outcome.filtered:
            result["filtered"] = True
        recorder.put(
            {"bot": route.uuid, "received_at": received_at, "outcome": result, "update": meta, "malformed": malformed}
        )
        delivered = not outcome.filtered and outcome.error not in (OVERLOAD, TOO_LARGE)  # the endpoint was asked
        forward_observe(
            outcome="filtered" if outcome.filtered else outcome.error or "delivered",
            seconds=outcome.latency_ms / 1000 if delivered else None,
        )
        # A filtered update never reached the endpoint: it says nothing of the endpoint's health.
        if outcome.failed and outcome.error != TOO_LARGE:  # the endpoint is not to blame for a 413
            logger.warning(
                "proxy_forward_failed bot=%s error=%s status=%s upstream_status=%s latency_ms=%.1f",
                route.uuid,
                outcome.error,
                outcome.status,
                outcome.upstream_status,
                outcome.latency_ms,
            )
            health.failure(route, outcome, meta, received_at)
        elif not outcome.failed and not outcome.filtered:
            if route.back and meta:
                _back_look(route, meta, received_at)
            health.success(route, received_at)
        if meta and meta.get("type") == "my_chat_member" and meta.get("member_status") == "member":
            chat = meta.get("chat") or {}
            if chat.get("type") == "private" and isinstance(chat.get("id"), int):
                outbox.put(_unblocked, route.bot_id, chat["id"])
    except Exception:  # close() swallows errors silently: say what broke
        logger.exception("proxy_after_response_failed bot=%s", route.uuid)
