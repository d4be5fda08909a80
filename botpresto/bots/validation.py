"""What owners may give us for a bot, checked where the services can call it.

Pages and the API convert types and share the limits below; the refusals come from
here, so both say the same thing about the same input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf.locale import LANG_INFO

from botpresto.core.errors import ApplicationError
from botpresto.core.urlguard import upstream_url_check

TOKEN_MAX = 100
SECRET_MAX = 256  # Telegram's limit for secret_token
URL_MAX = 2048
CERTIFICATE_MAX = 16 * 1024
MIXPANEL_TOKEN_MAX = 200
USERNAME_MAX = 64
NOTICE_MAX = 200  # answerCallbackQuery shows at most 200 characters
LANGUAGE_MAX = 16

SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_TOKEN = re.compile(r"([1-9][0-9]{0,19}):[A-Za-z0-9_-]+")
_LANGUAGE = re.compile(r"[a-z]{2,8}(?:-[a-z0-9]{1,8})*")
_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----", re.MULTILINE)


@dataclass(frozen=True)
class Token:
    value: str
    bot_id: int  # the part before the colon is the bot's Telegram id


def token_check(value: Any, *, field: str = "token") -> Token:
    token = str(value or "").strip()
    if not token:
        raise ApplicationError("Paste the bot's token from @BotFather.", code="token_required", field=field)
    match = _TOKEN.fullmatch(token)
    if len(token) > TOKEN_MAX or match is None:
        raise ApplicationError("That does not look like a bot token (it reads 123456:ABC...).", field=field)
    return Token(token, int(match[1]))


def secret_check(value: Any, *, field: str = "endpoint_secret") -> str | None:
    """An endpoint secret as Telegram allows it, or None for none."""
    secret = str(value or "").strip()
    if not secret:
        return None
    if len(secret) > SECRET_MAX or any(ch not in SECRET_ALPHABET for ch in secret):
        raise ApplicationError(
            f"A webhook secret is 1-{SECRET_MAX} characters of letters, digits, _ and - (Telegram's rule).",
            field=field,
        )
    return secret


def url_check(value: Any, *, field: str = "upstream_url") -> str:
    url = str(value or "").strip()
    if not url:
        raise ApplicationError("Tell us your endpoint's URL.", code="endpoint_required", field=field)
    if len(url) > URL_MAX:
        raise ApplicationError(f"The endpoint URL is longer than {URL_MAX} characters.", field=field)
    return upstream_url_check(url)


def certificate_check(value: Any, *, field: str = "certificate") -> str:
    """A public PEM certificate, or "" for none. A private key is refused: we must never hold one."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise ApplicationError("Upload the certificate in PEM format (a text file).", field=field) from None
    text = str(value or "").strip()
    if not text:
        return ""
    if "PRIVATE KEY" in text:
        raise ApplicationError(
            "That holds a private key. Give the public certificate only, never the private key.",
            code="private_key",
            field=field,
        )
    if len(text) > CERTIFICATE_MAX:
        raise ApplicationError("That is too large for a certificate (16 KB at most).", field=field)
    if not _PEM_CERTIFICATE.search(text):
        raise ApplicationError(
            "That is not a PEM certificate (it starts with -----BEGIN CERTIFICATE-----).", field=field
        )
    return text


def mixpanel_token_check(value: Any, *, field: str = "mixpanel_token") -> str | None:
    token = str(value or "").strip()
    if not token:
        return None
    if len(token) > MIXPANEL_TOKEN_MAX or not token.isprintable() or " " in token:
        raise ApplicationError("That does not look like a Mixpanel project token.", field=field)
    return token


def username_check(value: Any, *, field: str = "username") -> str:
    username = str(value or "").strip().lstrip("@")
    if username and not re.fullmatch(rf"[A-Za-z0-9_]{{1,{USERNAME_MAX}}}", username):
        raise ApplicationError("A bot's username is letters, digits and _ (e.g. @my_bot).", field=field)
    return username


# Django's LANG_INFO lacks many languages Telegram users have (am, ha, yo, zu, si, ...): a user's
# language_code is an IETF tag whose first part is, nearly always, one of these ISO 639-1 codes.
_ISO_639_1_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz "
    "ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik "
    "io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml "
    "mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd "
    "se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi "
    "vo wa wo xh yi yo za zh zu"
)
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())
TELEGRAM_EXTRA_LANGUAGES = frozenset({"fil", "ckb"})  # three-letter codes Telegram clients send
KNOWN_LANGUAGES = frozenset(LANG_INFO) | ISO_639_1 | TELEGRAM_EXTRA_LANGUAGES


def language_check(value: Any, *, field: str = "notice_default_language") -> str:
    code = str(value or "").strip().lower().replace("_", "-")
    if len(code) > LANGUAGE_MAX or not _LANGUAGE.fullmatch(code):
        raise ApplicationError(f"{value!s:.20} is not a language code such as en or pt-br.", field=field)
    # A well-formed code of no language (xx) would be kept and never match a Telegram user's language_code.
    if code not in KNOWN_LANGUAGES and code.split("-")[0] not in KNOWN_LANGUAGES:
        raise ApplicationError(f"{code} is not a language we know; give a code such as en or pt-br.", field=field)
    return code


def notice_texts_check(texts: Any, *, field: str = "notice_texts") -> dict[str, str]:
    """Language code → text; an empty text means "use the default notice"."""
    if not isinstance(texts, dict):
        raise ApplicationError("Notice texts map a language code to a text.", field=field)
    checked: dict[str, str] = {}
    for language, text in texts.items():
        text = str(text or "").strip()
        if not text:
            continue
        code = language_check(language, field=field)
        if len(text) > NOTICE_MAX:
            raise ApplicationError(
                f"A notice is at most {NOTICE_MAX} characters (Telegram's limit for a button's pop-up); "
                f"the {code} one has {len(text)}.",
                field=f"{field}.{code}",
            )
        checked[code] = text
    return checked
