"""What a bot's users are told while its endpoint is down, by language (IETF primary subtag)."""

from __future__ import annotations

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
