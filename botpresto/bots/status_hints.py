"""What each bot status means for its owner, and what to do about it, in one line."""

from __future__ import annotations

from botpresto.bots.models import Bot

S = Bot.Status

_TOKEN_MODE: dict[str, str] = {
    S.CONNECTING: "We have not finished pointing the webhook at BotPresto. Connect the bot again with the same token.",
    S.ACTIVE: "",
    S.FAILING: "Your endpoint does not answer or answers with errors. Telegram keeps the updates and retries: "
    "check your endpoint.",
    S.DISCONNECTED: "Updates go straight to your endpoint. Reconnect to forward them through BotPresto again.",
    S.BYPASSED: "Maintenance: updates go straight to your endpoint for now; forwarding resumes by itself.",
    S.TOKEN_REVOKED: "Telegram no longer accepts the token we hold. Paste the new one from @BotFather in Settings.",
    S.WEBHOOK_CHANGED: "Someone pointed the webhook elsewhere, so updates bypass BotPresto. Reconnect in Settings "
    "(you can adopt the new webhook in one click).",
    S.WAITING: "No update has arrived yet. Send your bot a message to check.",
    S.SILENT: "No update for a while. Check that your bot still gets messages.",
}

_MANUAL_MODE: dict[str, str] = {
    **_TOKEN_MODE,
    S.DISCONNECTED: "Marked disconnected. Run the setWebhook command again to forward updates through BotPresto.",
    S.TOKEN_REVOKED: "Telegram no longer accepts your token. Run the setWebhook command with the new one.",
    S.WEBHOOK_CHANGED: "The webhook points elsewhere. Run the setWebhook command again to forward through BotPresto.",
    S.WAITING: "Run the setWebhook command with your token; the status turns active with the first update.",
    S.SILENT: "No update for a while. Check that the webhook still points at the proxy URL "
    "(run the setWebhook command again).",
}

# Statuses an owner should act on (or at least look at).
NEEDS_ATTENTION = frozenset({S.CONNECTING, S.FAILING, S.TOKEN_REVOKED, S.WEBHOOK_CHANGED, S.SILENT})


def status_hint(bot: Bot) -> str:
    """One line telling the owner what to do; empty when all is well."""
    hints = _TOKEN_MODE if bot.is_token_mode else _MANUAL_MODE
    return hints.get(bot.shown_status, "")
