"""The proxy's side of endpoint health: streaks of failed forwards per bot, shared through the cache.

Runs in the outbox thread, after Telegram has its answer. It only counts and asks:
whether a bot is failing is a fact of the bot's state (botpresto.bots.states),
changed by tasks, so the owners hear of a streak once whichever process saw it, and
a restart of any process or of Redis forgets nothing that matters.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache

from botpresto.core.enqueue import task_send
from botpresto.notifications.back import back_claim
from botpresto.notifications.notices import delivered_at, delivered_mark

DAY = 24 * 3600
FAILING_TASK = "botpresto.bots.tasks.bot_endpoint_failing_task"
RECOVERED_TASK = "botpresto.bots.tasks.bot_endpoint_recovered_task"
NOTICE_TASK = "botpresto.notifications.tasks.notice_send_task"
BACK_TASK = "botpresto.notifications.tasks.notice_back_send_task"


def _key(name: str, bot_id: int, *parts: object) -> str:
    return ":".join(["proxy", name, str(bot_id), *map(str, parts)])


def failure_record(
    *,
    bot_id: int,
    error: str,
    upstream_status: int | None,
    at: float,
    update_id: int | None,
    notice: dict[str, Any] | None,
    failing: bool,
) -> None:
    """Count a failed forward: ask for the failing transition at the threshold, and a notice once per update."""
    # Telegram retries the same update_id: it is held back once, and its user told once.
    first = update_id is None or cache.add(_key("failed", bot_id, update_id), 1, timeout=DAY)
    down_key = _key("down", bot_id)
    down = cache.get(down_key)
    last_delivered = delivered_at(bot_id=bot_id)
    if down is None or (last_delivered is not None and last_delivered >= down["since"]):
        down = {"since": at, "count": 0, "held": 0}
    down.update(count=down["count"] + 1, held=down["held"] + int(first))
    cache.set(down_key, down, timeout=30 * DAY)
    if down["count"] >= settings.ALERT_AFTER_FAILURES and not failing:
        details = {"error": error, "status": upstream_status, "failures": down["count"]}
        task_send(FAILING_TASK, bot_id, down["since"], details)
    if first and notice is not None:
        task_send(NOTICE_TASK, bot_id, notice, at)


def success_record(*, bot_id: int, at: float, failing: bool) -> None:
    """Note a delivered update (it ends a streak); a failing bot is asked to recover."""
    delivered_mark(bot_id=bot_id, at=at)
    if failing:
        held = int((cache.get(_key("down", bot_id)) or {}).get("held", 0))
        task_send(RECOVERED_TASK, bot_id, at, held)


def back_record(*, bot_id: int, chat_id: int) -> None:
    """An update of a chat went through: if it was told the bot is down, it hears it is back (once)."""
    language = back_claim(bot_id=bot_id, chat_id=chat_id)
    if language is not None:
        task_send(BACK_TASK, bot_id, chat_id, language)


def recoveries_sweep() -> int:
    """End the streaks of failing bots whose endpoint has taken an update since; returns how many ended.

    The proxy asks for the recovery with a task on the first update that goes through, and again at
    most once a second per process while the bot is shown failing. A task lost with the broker (Redis
    restarted) when no update follows would leave the bot shown failing for good: beat sweeps here.
    """
    from botpresto.bots.models import Bot
    from botpresto.bots.states import bot_endpoint_recovered

    ended = 0
    for bot in Bot.objects.filter(endpoint_failing_since__isnull=False):
        at = delivered_at(bot_id=bot.id)
        if at is None or bot.endpoint_failing_since is None or at <= bot.endpoint_failing_since.timestamp():
            continue
        held = int((cache.get(_key("down", bot.id)) or {}).get("held", 0))
        ended += bot_endpoint_recovered(bot=bot, at=at, held=held)
    return ended
