"""What happens around a forward: endpoint health, the owner's alerts, the users' notices.

Health lives in the cache (Redis, or the database cache without it), so every
process sees it: a streak of consecutive failures per bot, the time of the
last success, and an alert mark that makes the down and up emails go out once
per state change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from botpresto.bots.models import Bot
from botpresto.core.telegram import PermanentError, TokenRevoked, telegram
from botpresto.notifications.notices import NoticeTarget, notice_text
from proxy.outbox import task_publish

logger = logging.getLogger(__name__)

DAY = 24 * 3600
BLOCKED_SECONDS = 180 * DAY


def _key(name: str, bot_id: int, *parts: object) -> str:
    return ":".join(["proxy", name, str(bot_id), *map(str, parts)])


# --- endpoint health ------------------------------------------------------------------
def endpoint_failure_record(
    *,
    bot_id: int,
    error: str,
    upstream_status: int | None,
    at: float,
    update_id: int | None,
    notice: dict[str, Any] | None,
) -> None:
    """Count a failed forward; alert the owners when a streak starts, tell the user once per update."""
    from botpresto.notifications.tasks import proxy_notice_task, proxy_owner_alert_task

    # Telegram retries the same update_id: it is held back once, and its user told once.
    first = update_id is None or cache.add(_key("failed", bot_id, update_id), 1, timeout=DAY)
    down_key, ok_key = _key("down", bot_id), _key("ok", bot_id)
    values = cache.get_many([down_key, ok_key])
    down, last_ok = values.get(down_key), values.get(ok_key)
    if down is None or (last_ok is not None and last_ok >= down["since"]):
        down = {"since": at, "count": 0, "held": 0}
    down.update(count=down["count"] + 1, held=down["held"] + int(first), error=error, status=upstream_status)
    cache.set(down_key, down, timeout=30 * DAY)
    if down["count"] >= settings.ALERT_AFTER_FAILURES and cache.add(
        _key("alerted", bot_id), {"since": down["since"]}, timeout=30 * DAY
    ):
        details = {"since": down["since"], "error": error, "status": upstream_status, "failures": down["count"]}
        task_publish(proxy_owner_alert_task, bot_id, "down", details)
    if first and notice is not None:
        task_publish(proxy_notice_task, bot_id, notice)


def endpoint_success_record(*, bot_id: int, at: float, check_recovery: bool) -> None:
    """Note a success (it ends a streak); if the owners were alerted, tell them it recovered."""
    from botpresto.notifications.tasks import proxy_owner_alert_task

    cache.set(_key("ok", bot_id), at, timeout=30 * DAY)
    if not check_recovery:
        return
    alerted_key = _key("alerted", bot_id)
    alert = cache.get(alerted_key)
    # Several processes may see the recovery; only the one whose delete succeeds sends the email.
    if alert is None or not cache.delete(alerted_key):
        return
    down = cache.get(_key("down", bot_id)) or {}
    cache.delete(_key("down", bot_id))
    details = {"since": alert["since"], "until": at, "held": int(down.get("held", 0))}
    task_publish(proxy_owner_alert_task, bot_id, "up", details)


# --- bot status -----------------------------------------------------------------------
def _status_change(*, bot_id: int, to: str, only_from: Collection[str]) -> bool:
    # updated_at moves so every process's route table sees the change within a second.
    changed = Bot.objects.filter(id=bot_id, status__in=only_from).update(status=to, updated_at=timezone.now())
    return changed > 0


def bot_endpoint_failing_mark(*, bot_id: int) -> bool:
    # A manual-mode bot still "waiting" plainly gets updates: say that they fail.
    healthy = {Bot.Status.ACTIVE, Bot.Status.SILENT, Bot.Status.WAITING}
    return _status_change(bot_id=bot_id, to=Bot.Status.FAILING, only_from=healthy)


def bot_endpoint_recovered_mark(*, bot_id: int) -> bool:
    return _status_change(bot_id=bot_id, to=Bot.Status.ACTIVE, only_from={Bot.Status.FAILING})


def bot_token_revoked_mark(*, bot_id: int) -> bool:
    changed = _status_change(
        bot_id=bot_id, to=Bot.Status.TOKEN_REVOKED, only_from=set(Bot.FORWARDING) - {Bot.Status.TOKEN_REVOKED}
    )
    if changed:
        logger.warning("bot_token_revoked bot_id=%s", bot_id)
    return changed


# --- the owner's alert ----------------------------------------------------------------
WHAT_TO_CHECK = {
    "connect": "Is the server running, and listening on the port of your endpoint's URL? Is a firewall in the way?",
    "dns": "Does your endpoint's host name still resolve (DNS records, an expired domain)?",
    "tls": "Is your certificate valid, unexpired and issued for the host name? If it is self-signed, "
    "upload the current one in the bot's settings.",
    "timeout": "Does your endpoint answer within {read_timeout:g} seconds? Answer first and do long work afterwards.",
    "redirect": "Your endpoint answered with a redirect, which Telegram does not follow. Use the final URL "
    "(mind https and a trailing slash).",
    "gone": "Your endpoint answered 410 Gone. Is the webhook route still there?",
    "http_status": "Your endpoint answered with an error status. Check its logs; a 401 or 403 often means it "
    "expects a different secret token than the one you gave us.",
    "overload": "Too many updates were waiting on your endpoint at once: it answers too slowly.",
}
ERROR_NAMES = {
    "connect": "connection refused or reset",
    "dns": "host name does not resolve",
    "tls": "TLS certificate or handshake error",
    "timeout": "no answer in time",
    "redirect": "redirect",
    "gone": "410 Gone",
    "http_status": "error status",
    "overload": "too many updates waiting",
}


def _owner_emails(bot: Bot) -> list[str]:
    memberships = Membership.objects.filter(tenant_id=bot.tenant_id, role=Membership.Role.OWNER).select_related("user")
    return sorted({m.user.email for m in memberships if m.user.email and m.user.is_active})


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def owner_alert_send(*, bot_id: int, state: str, details: dict[str, Any]) -> int:
    """Mark the bot failing (or active again) and email the tenant's owners. Returns the emails sent."""
    bot = Bot.objects.filter(id=bot_id).first()
    if bot is None:
        return 0
    if state == "down":
        bot_endpoint_failing_mark(bot_id=bot.id)
        error = str(details.get("error") or "")
        context = {
            "bot": bot,
            "since": _when(float(details["since"])),
            "error": ERROR_NAMES.get(error, error),
            "status": details.get("status"),
            "failures": details.get("failures"),
            "what_to_check": WHAT_TO_CHECK.get(error, "").format(read_timeout=settings.PROXY_READ_TIMEOUT),
        }
        template, subject = "notifications/email/endpoint_down.txt", f"{bot}: your endpoint is failing"
    else:
        bot_endpoint_recovered_mark(bot_id=bot.id)
        since, until = float(details["since"]), float(details["until"])
        context = {
            "bot": bot,
            "since": _when(since),
            "until": _when(until),
            "duration": _duration(until - since),
            "held": details.get("held", 0),
        }
        template, subject = "notifications/email/endpoint_up.txt", f"{bot}: your endpoint has recovered"
    recipients = _owner_emails(bot)
    logger.info("owner_alert bot=%s state=%s recipients=%d", bot.uuid, state, len(recipients))
    if not recipients:
        return 0
    context["dashboard_url"] = settings.PUBLIC_URL + reverse("bot_detail", args=[bot.uuid])
    body = render_to_string(template, context)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


# --- the user's notice ----------------------------------------------------------------
def notice_unblock_record(*, bot_id: int, chat_id: int) -> None:
    """The user unblocked the bot: they may be told again."""
    cache.delete(_key("blocked", bot_id, chat_id))


def notice_send(*, bot_id: int, target: NoticeTarget, claimed: bool = False) -> str:
    """Tell one user the bot is temporarily unavailable. Returns what happened.

    ``claimed``: the chat's cooldown was already taken by an earlier attempt of this notice.
    Raises RateLimited or TelegramUnavailable for the caller to retry later.
    """
    bot = Bot.objects.filter(id=bot_id).first()
    if bot is None or not bot.is_token_mode or not bot.token or not bot.notices_enabled:
        return "off"
    if bot.status == Bot.Status.TOKEN_REVOKED or not bot.forwards:
        return "off"
    if cache.get(_key("blocked", bot_id, target.chat_id)):
        return "blocked"
    cooldown = settings.NOTICE_COOLDOWN_SECONDS
    if not claimed and cooldown and not cache.add(_key("notice", bot_id, target.chat_id), time.time(), cooldown):
        return "cooldown"
    text = notice_text(
        language=target.language, owner_texts=bot.notice_texts, default_language=bot.notice_default_language
    )
    token = str(bot.token)
    try:
        if target.method == "sendMessage":
            telegram.send_message(token, chat_id=target.chat_id, text=text)
        elif target.method == "answerCallbackQuery":
            telegram.answer_callback_query(token, callback_query_id=str(target.query_id), text=text[:200])
        elif target.method == "answerInlineQuery":
            telegram.answer_inline_query(
                token,
                inline_query_id=str(target.query_id),
                results=[],
                cache_time=5,
                button={"text": text, "start_parameter": "unavailable"},
            )
        else:
            return "unknown"
    except TokenRevoked:
        bot_token_revoked_mark(bot_id=bot.id)
        return "token_revoked"
    except PermanentError as exc:
        if exc.error_code == 403:  # blocked, deactivated, kicked: final
            cache.set(_key("blocked", bot_id, target.chat_id), 1, timeout=BLOCKED_SECONDS)
        logger.info("notice_refused bot=%s method=%s code=%s", bot.uuid, target.method, exc.error_code)
        return "refused"
    logger.info("notice_sent bot=%s method=%s language=%s", bot.uuid, target.method, target.language or "-")
    return "sent"
