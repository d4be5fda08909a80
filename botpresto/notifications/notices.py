"""What a bot's users are told while its endpoint is down, by language (IETF primary subtag)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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
            return NoticeTarget("sendMessage", chat["id"], language)
        return None
    if not isinstance(user.get("id"), int):
        return None
    if kind == "callback_query" and meta.get("callback_query_id"):
        chat_id = chat["id"] if isinstance(chat.get("id"), int) else user["id"]
        return NoticeTarget("answerCallbackQuery", chat_id, language, str(meta["callback_query_id"]))
    if kind == "inline_query" and meta.get("inline_query_id"):
        return NoticeTarget("answerInlineQuery", user["id"], language, str(meta["inline_query_id"]))
    return None


def _candidates(language: str) -> list[str]:
    tag = language.strip().lower().replace("_", "-")
    if not tag:
        return []
    primary = tag.split("-", 1)[0]
    return [tag, primary] if primary != tag else [tag]


def notice_text(*, language: str, owner_texts: dict[str, str] | None, default_language: str) -> str:
    """The owner's text for the user's language, else ours, else the owner's default language, else English."""
    owner = {str(k).lower(): str(v) for k, v in (owner_texts or {}).items() if isinstance(v, str) and v.strip()}
    for wanted in (language, default_language):
        for tag in _candidates(wanted):
            if tag in owner:
                return owner[tag]
            if tag in DEFAULT_NOTICES:
                return DEFAULT_NOTICES[tag]
    return DEFAULT_NOTICES["en"]
