from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Tenant
from botpresto.bots.models import Bot
from botpresto.core.fields import EncryptedTextField


class OwnerAlert(models.Model):
    """Something the owners of a tenant must hear about, written with the change that causes it.

    The row is an outbox: it commits in the same transaction as the bot's state change,
    a task sends it and marks it sent, and a sweep sends the rows whose task never ran
    (broker down, worker killed), so an alert survives any restart and is sent once.
    """

    class Kind(models.TextChoices):
        FAILING = "failing", "Endpoint failing"
        RECOVERED = "recovered", "Endpoint recovered"
        TOKEN_REVOKED = "token_revoked", "Token revoked"
        WEBHOOK_CHANGED = "webhook_changed", "Webhook changed"
        MAINTENANCE = "maintenance", "Maintenance planned"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, null=True, blank=True, related_name="owner_alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="A sender took it (until its lease ends).")
    # Which task took it: that task's retry takes it back at once (its release may have failed with the
    # database away), any other sender waits for the lease.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    recipients = models.PositiveSmallIntegerField(default=0)
    # Channels that have it ("email:<address>", "telegram:<chat>", "webhook"): a retry skips them.
    delivered = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sent_at", "created_at"], name="owneralert_unsent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


ALL_KINDS = [kind.value for kind in OwnerAlert.Kind]


def _all_kinds() -> list[str]:
    return list(ALL_KINDS)


class AlertChannels(models.Model):
    """Where one person gets owner alerts, per kind: email, and the operator's Telegram alert bot once linked."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_channels")
    email_kinds = models.JSONField(default=_all_kinds, blank=True)
    telegram_kinds = models.JSONField(default=_all_kinds, blank=True)
    telegram_chat_id = models.BigIntegerField(null=True, blank=True, help_text="The private chat with the alert bot.")
    telegram_name = models.CharField(max_length=64, blank=True, help_text="The linked Telegram @username, shown.")
    telegram_linked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "alert channels"

    def __str__(self) -> str:
        return f"alert channels of {self.user}"


class TelegramLink(models.Model):
    """A one-time /start deep link to the alert bot: whoever opens it links their Telegram to this person."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the link's token; never the token.")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Telegram link of {self.user} ({self.created_at:%Y-%m-%d %H:%M})"


class AlertWebhook(models.Model):
    """An organisation's outgoing alert webhook (Slack, Discord or anything), signed with its own secret."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # binds the sealed values to the row
    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="alert_webhook")
    url = EncryptedTextField(help_text="Webhook URLs (Slack's, Discord's) are secrets themselves.")
    secret = EncryptedTextField(help_text="Signs every request (Standard Webhooks: whsec_ + base64).")
    kinds = models.JSONField(default=_all_kinds, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_status = models.CharField(max_length=120, blank=True, help_text="What the last request got.")
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"alert webhook of {self.tenant}"
