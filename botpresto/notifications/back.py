""" "We're back": a user who was told the bot is down hears once that it works again.

Optional per bot (off by default). When a notice reaches a chat (a private chat, a group that
addressed the bot, or a button pressed in a private chat), the chat is remembered for a day with
the user's language. The first update of that chat that goes through again (the proxy sees it
after answering Telegram) claims the memory, so one outage gets one "we're back" per chat however
many processes see its updates, and a task sends it. The bot row notes when users were last told,
so the proxy's route table knows for which bots to look at all.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

from botpresto.bots.models import Bot
from botpresto.core.telegram import PermanentError, telegram
from botpresto.notifications.notices import notice_blocked_mark, notice_is_blocked, notice_text, told_key

logger = logging.getLogger(__name__)

BACK_DEFAULTS: dict[str, str] = {
    "en": "The bot is working again. Thank you for waiting!",
    "ru": "Бот снова работает. Спасибо, что подождали!",
    "es": "El bot vuelve a funcionar. ¡Gracias por esperar!",
    "pt": "O bot voltou a funcionar. Obrigado por esperar!",
    "de": "Der Bot funktioniert wieder. Danke fürs Warten!",
    "fr": "Le bot fonctionne à nouveau. Merci de votre patience !",
    "it": "Il bot funziona di nuovo. Grazie per l'attesa!",
    "uk": "Бот знову працює. Дякуємо, що зачекали!",
    "tr": "Bot yeniden çalışıyor. Beklediğiniz için teşekkürler!",
    "fa": "ربات دوباره کار می‌کند. از صبر شما سپاسگزاریم!",
    "ar": "عاد البوت إلى العمل. شكرًا على انتظارك!",
    "id": "Bot sudah berfungsi kembali. Terima kasih telah menunggu!",
    "hi": "बॉट फिर से काम कर रहा है। इंतज़ार के लिए धन्यवाद!",
}


def back_claim(*, bot_id: int, chat_id: int) -> str | None:
    """An update of the chat went through: the language to say "we're back" in, to the one caller that
    takes the claim; None when nobody was told (or another process already took it)."""
    key = told_key(bot_id=bot_id, chat_id=chat_id)
    told: Any = cache.get(key)
    if not isinstance(told, dict) or not cache.delete(key):
        return None
    return str(told.get("language") or "")


def back_text(*, bot: Bot, language: str) -> str:
    return notice_text(
        language=language,
        owner_texts=bot.back_texts,
        default_language=bot.notice_default_language,
        defaults=BACK_DEFAULTS,
    )


def back_send(*, bot_id: int, chat_id: int, language: str) -> str:
    """Tell the chat the bot works again. Returns what happened; raises what a task retries."""
    bot = Bot.objects.filter(id=bot_id).first()
    if bot is None or not bot.is_token_mode or not bot.token or not bot.back_enabled:
        return "off"
    if bot.status == Bot.Status.TOKEN_REVOKED:
        return "off"
    if notice_is_blocked(bot_id=bot_id, chat_id=chat_id):
        return "blocked"
    try:
        telegram.send_message(str(bot.token), chat_id=chat_id, text=back_text(bot=bot, language=language))
    except PermanentError as exc:
        if exc.error_code == 403:
            notice_blocked_mark(bot_id=bot_id, chat_id=chat_id)
        logger.info("back_notice_refused bot=%s code=%s", bot.uuid, exc.error_code)
        return "refused"
    logger.info("back_notice_sent bot=%s language=%s", bot.uuid, language or "-")
    return "sent"
