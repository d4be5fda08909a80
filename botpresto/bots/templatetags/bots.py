from __future__ import annotations

from django import template

from botpresto.bots.models import Bot
from botpresto.bots.status_hints import NEEDS_ATTENTION, status_hint

register = template.Library()


@register.filter
def hint(bot: Bot) -> str:
    return status_hint(bot)


@register.filter
def needs_attention(bot: Bot) -> bool:
    return bot.shown_status in NEEDS_ATTENTION


@register.filter
def display_name(bot: Bot) -> str:
    if bot.username:
        return f"@{bot.username}"
    return bot.name or "Unnamed bot"


@register.filter
def proxy_url_note(bot: Bot) -> str:
    """Whether Telegram sends this bot's updates to the proxy URL now, in a few words."""
    S = Bot.Status
    if bot.status == S.DISCONNECTED:
        if not bot.is_token_mode:
            return "not in use since the bot was disconnected"
        return "not in use: Telegram sends updates straight to your endpoint"
    if bot.status == S.BYPASSED:
        return "not in use during maintenance: Telegram sends updates straight to your endpoint"
    if bot.status == S.WEBHOOK_CHANGED:
        return "not in use: the bot's webhook was changed to another URL"
    if bot.status == S.TOKEN_REVOKED:
        return "not in use until you paste the bot's new token"
    if bot.status == S.WAITING:
        return "set the bot's webhook to this URL"
    return "Telegram sends updates here"
