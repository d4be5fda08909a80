from __future__ import annotations

from django.db import models

from accounts.models import Tenant
from botpresto.bots.models import Bot


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
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    recipients = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sent_at", "created_at"], name="owneralert_unsent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"
