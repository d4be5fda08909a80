"""What a bot's users are told while its endpoint is down, in their language, through the bot's own token.

Telegram retries an update until the endpoint takes it, so a notice goes out once per
update (the proxy asks for it on the first failure only), at most once per chat per
NOTICE_COOLDOWN_SECONDS, never to a user who blocked the bot, and never once the bot
has delivered updates again: a late "bot is down" to a user whose bot works is worse
than none.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from analytics.deliveries import delivery_notice_mark
from botpresto.bots.models import Bot
from botpresto.core.telegram import PermanentError, telegram

logger = logging.getLogger(__name__)

DAY = 24 * 3600
BLOCKED_SECONDS = 180 * DAY

DEFAULT_NOTICES: dict[str, str] = {
    "en": "The bot is temporarily unavailable. Please try again in a few minutes.",
    "ru": "Бот временно недоступен. Пожалуйста, попробуйте снова через несколько минут.",
    "es": "El bot no está disponible temporalmente. Inténtalo de nuevo en unos minutos.",
    "pt": "O bot está temporariamente indisponível. Tente novamente em alguns minutos.",
    "de": "Der Bot ist vorübergehend nicht erreichbar. Bitte versuche es in ein paar Minuten erneut.",
    "fr": "Le bot est temporairement indisponible. Veuillez réessayer dans quelques minutes.",
    "it": "Il bot è temporaneamente non disponibile. Riprova tra qualche minuto.",
    "uk": "Бот тимчасово недоступний. Будь ласка, спробуйте ще раз за кілька хвилин.",
    "tr": "Bot geçici olarak kullanılamıyor. Lütfen birkaç dakika sonra tekrar deneyin.",
    "fa": "ربات موقتاً در دسترس نیست. لطفاً چند دقیقه دیگر دوباره تلاش کنید.",
    "ar": "البوت غير متاح مؤقتًا. يُرجى المحاولة مرة أخرى بعد بضع دقائق.",
    "id": "Bot sedang tidak tersedia untuk sementara. Silakan coba lagi dalam beberapa menit.",
    "hi": "बॉट अस्थायी रूप से उपलब्ध नहीं है। कृपया कुछ मिनट बाद फिर से प्रयास करें।",
}


@dataclass(frozen=True)
class NoticeTarget:
    """Whom to tell, and how: one Bot API call with the bot's own token."""

    method: str  # sendMessage, answerCallbackQuery or answerInlineQuery
    chat_id: int  # the chat (or, for queries, the user) the cooldown counts for
    language: str
    query_id: str | None = None
    # Where "we're back" may go (botpresto.notifications.back): the chat written in, or the private chat of a
    # button; None for inline queries and buttons in groups, where a message would reach others.
    back_chat: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def notice_target(meta: dict[str, Any] | None) -> NoticeTarget | None:
    """Which notice an update deserves, from its metadata; None for updates nobody addressed to the bot."""
    if not meta:
        return None
    kind = meta.get("type")
    user = meta.get("user") or {}
    chat = meta.get("chat") or {}
    language = str(user.get("language_code") or "")
    if kind == "message":
        if not isinstance(chat.get("id"), int) or user.get("is_bot"):
            return None
        if chat.get("type") == "private" or (chat.get("type") in ("group", "supergroup") and meta.get("addressed")):
            return NoticeTarget("sendMessage", chat["id"], language, back_chat=chat["id"])
        return None
    if not isinstance(user.get("id"), int):
        return None
    if kind == "callback_query" and meta.get("callback_query_id"):
        chat_id = chat["id"] if isinstance(chat.get("id"), int) else user["id"]
        back = chat_id if chat.get("type") == "private" else None
        return NoticeTarget("answerCallbackQuery", chat_id, language, str(meta["callback_query_id"]), back)
    if kind == "inline_query" and meta.get("inline_query_id"):
        return NoticeTarget("answerInlineQuery", user["id"], language, str(meta["inline_query_id"]))
    return None


def _candidates(language: str) -> list[str]:
    tag = language.strip().lower().replace("_", "-")
    if not tag:
        return []
    primary = tag.split("-", 1)[0]
    return [tag, primary] if primary != tag else [tag]


def notice_text(
    *,
    language: str,
    owner_texts: dict[str, str] | None,
    default_language: str,
    defaults: dict[str, str] = DEFAULT_NOTICES,
) -> str:
    """The owner's text for the user's language, else ours, else the owner's default language, else English."""
    owner = {str(k).lower(): str(v) for k, v in (owner_texts or {}).items() if isinstance(v, str) and v.strip()}
    for wanted in (language, default_language):
        for tag in _candidates(wanted):
            if tag in owner:
                return owner[tag]
            if tag in defaults:
                return defaults[tag]
    return defaults["en"]


def _key(name: str, bot_id: int, *parts: object) -> str:
    return ":".join(["notice", name, str(bot_id), *map(str, parts)])


def delivered_mark(*, bot_id: int, at: float) -> None:
    """The bot's endpoint took an update at ``at``: notices about earlier failures are stale."""
    cache.set(_key("delivered", bot_id), at, timeout=DAY)


def delivered_at(*, bot_id: int) -> float | None:
    value = cache.get(_key("delivered", bot_id))
    return float(value) if isinstance(value, int | float) else None


TOLD_NOTE_EVERY = timedelta(minutes=1)  # the bot row is written at most this often during an outage


def told_key(*, bot_id: int, chat_id: int) -> str:
    return _key("told", bot_id, chat_id)


def _told_expect(bot: Bot) -> None:
    """Note on the bot that its users are being told it is down: for a day the proxy looks for their updates."""
    now = timezone.now()
    Bot.objects.filter(Q(users_told_at__isnull=True) | Q(users_told_at__lt=now - TOLD_NOTE_EVERY), id=bot.id).update(
        users_told_at=now, updated_at=now
    )


def notice_blocked_mark(*, bot_id: int, chat_id: int) -> None:
    """Telegram refused a message to the chat for good (blocked, deactivated, kicked): ask no more."""
    cache.set(_key("blocked", bot_id, chat_id), 1, timeout=BLOCKED_SECONDS)


def notice_is_blocked(*, bot_id: int, chat_id: int) -> bool:
    return bool(cache.get(_key("blocked", bot_id, chat_id)))


def notice_unblock_record(*, bot_id: int, chat_id: int) -> None:
    """The user unblocked the bot: they may be told again."""
    cache.delete(_key("blocked", bot_id, chat_id))


def _stale(bot: Bot, failed_at: float) -> bool:
    delivered = delivered_at(bot_id=bot.id)
    recovered = bot.endpoint_recovered_at.timestamp() if bot.endpoint_recovered_at else None
    return any(mark is not None and mark > failed_at for mark in (delivered, recovered))


def notice_send(*, bot_id: int, target: NoticeTarget, failed_at: float) -> str:
    """Tell one user the bot is temporarily unavailable. Returns what happened.

    Raises RateLimited or TelegramUnavailable for the task to retry; TokenRevoked for
    the task to mark the bot (this module changes no bot state).
    """
    bot = Bot.objects.filter(id=bot_id).first()
    if bot is None or not bot.is_token_mode or not bot.token or not bot.notices_enabled:
        return "off"
    if bot.status == Bot.Status.TOKEN_REVOKED:
        return "off"
    if _stale(bot, failed_at):
        return "stale"
    if notice_is_blocked(bot_id=bot_id, chat_id=target.chat_id):
        return "blocked"
    cooldown = settings.NOTICE_COOLDOWN_SECONDS
    claim = _key("cooldown", bot_id, target.chat_id)
    if cooldown and not cache.add(claim, failed_at, cooldown) and cache.get(claim) != failed_at:
        return "cooldown"  # another update of this chat was noticed (a retry of this one keeps its claim)
    text = notice_text(
        language=target.language, owner_texts=bot.notice_texts, default_language=bot.notice_default_language
    )
    token = str(bot.token)
    back = bot.back_enabled and target.back_chat is not None
    if back:
        _told_expect(bot)  # first, so the proxy looks for this chat's updates as soon as it is told
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
    except PermanentError as exc:
        if exc.error_code == 403:  # blocked, deactivated, kicked: final
            notice_blocked_mark(bot_id=bot_id, chat_id=target.chat_id)
        logger.info("notice_refused bot=%s method=%s code=%s", bot.uuid, target.method, exc.error_code)
        return "refused"
    if back and target.back_chat is not None:
        # Owed a "we're back" (botpresto.notifications.back) once an update of the chat goes through.
        cache.set(told_key(bot_id=bot_id, chat_id=target.back_chat), {"language": target.language}, timeout=DAY)
    delivery_notice_mark(bot_id=bot_id, received_at=failed_at)  # the delivery log shows it
    logger.info("notice_sent bot=%s method=%s language=%s", bot.uuid, target.method, target.language or "-")
    return "sent"
