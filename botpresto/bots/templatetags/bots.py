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
