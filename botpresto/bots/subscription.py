"""Which update types we ask Telegram for, and which of those the owner's endpoint gets.

Telegram sends ``my_chat_member`` (in a private chat: the user blocked or unblocked the
bot) only to bots whose ``allowed_updates`` name it, or that keep Telegram's default
list. So while we hold a bot's webhook we subscribe it to the union of the owner's
own list and what the analytics need; the types we added are recorded and answered
200 by the proxy, never forwarded: the endpoint gets exactly what it asked for.
Restoring the webhook sends the owner's list back exactly, an empty list when it was
Telegram's default (``allowed_updates`` left out would keep ours: "omitted = keep the
previous setting").

A bot that had no webhook (it polled) keeps its own list: deleteWebhook, which hands
it back, cannot set one, and getUpdates shares the setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# What the analytics need beyond the owner's list: blocks and unblocks.
ANALYTICS_TYPES = ("my_chat_member",)
# Telegram's default (no list, or an empty one) is every type but these.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass(frozen=True)
class Subscription:
    allowed_updates: list[str]  # what setWebhook gets; [] is Telegram's default
    unforwarded: frozenset[str]  # types we added: recorded, answered 200, not forwarded


def subscription_for(*, original_url: str, original: Sequence[str] | None) -> Subscription:
    """The list to register while the webhook is ours, given the owner's original webhook."""
    if not original_url:
        return Subscription(list(original or []), frozenset())
    if not original:
        # The default already holds every type the analytics need (none of them is in NOT_BY_DEFAULT).
        return Subscription([], frozenset())
    added = [kind for kind in ANALYTICS_TYPES if kind not in original]
    return Subscription([*original, *added], frozenset(added))


def allowed_updates_to_restore(original: Sequence[str] | None) -> list[str]:
    """The owner's list exactly; an empty list for Telegram's default, never "keep what is there"."""
    return list(original or [])


def subscribed(reported: Sequence[str] | None, wanted: Sequence[str]) -> bool:
    """Whether Telegram's getWebhookInfo (which leaves the default out) reports the wanted list."""
    return set(reported or []) == set(wanted)
