from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Tenant
from botpresto.core.fields import EncryptedTextField


class Bot(models.Model):
    class Mode(models.TextChoices):
        TOKEN = "token", "Token"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        """Where the bot's webhook stands. Only botpresto.bots.states changes it."""

        CONNECTING = "connecting", "Connecting"
        ACTIVE = "active", "Active"
        # Never stored: shown (pages, API) for a live bot whose endpoint is failing (endpoint_failing_since).
        FAILING = "failing", "Endpoint failing"
        DISCONNECTED = "disconnected", "Disconnected"
        BYPASSED = "bypassed", "Bypassed for maintenance"
        TOKEN_REVOKED = "token_revoked", "Token revoked"
        WEBHOOK_CHANGED = "webhook_changed", "Webhook changed"
        WAITING = "waiting", "Waiting for first update"
        SILENT = "silent", "Silent"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="bots")
    mode = models.CharField(max_length=16, choices=Mode.choices)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)

    telegram_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=128, blank=True)

    token = EncryptedTextField(null=True, blank=True)
    endpoint_secret = EncryptedTextField(null=True, blank=True, help_text="Secret the owner's endpoint checks.")
    proxy_secret = EncryptedTextField(help_text="Our secret: Telegram sends it to the proxy.")
    upstream_url = EncryptedTextField(help_text="The owner's endpoint (URLs often carry secrets).")
    certificate = models.TextField(blank=True, help_text="The owner's self-signed certificate (PEM), public.")
    mixpanel_token = EncryptedTextField(null=True, blank=True)

    # The webhook as it was before we changed it: restored on disconnect, delete, maintenance.
    original_url = EncryptedTextField(blank=True, default="")
    original_max_connections = models.PositiveSmallIntegerField(null=True, blank=True)
    original_allowed_updates = models.JSONField(null=True, blank=True)
    original_ip_address = models.CharField(max_length=64, blank=True)
    original_has_certificate = models.BooleanField(default=False)

    # What getWebhookInfo last said.
    webhook_info = models.JSONField(default=dict, blank=True)
    webhook_checked_at = models.DateTimeField(null=True, blank=True)
    # Set while Telegram reports errors delivering to us and the owner's endpoint is not the cause.
    delivery_problem_since = models.DateTimeField(null=True, blank=True)
    # When the proxy last received an update for this bot (manual mode: waiting / silent).
    last_update_at = models.DateTimeField(null=True, blank=True)
    # The owner's endpoint health, one fact for every process: set when a streak of failed forwards
    # starts (the owners are alerted), cleared when an update goes through again (they are told).
    endpoint_failing_since = models.DateTimeField(null=True, blank=True)
    endpoint_recovered_at = models.DateTimeField(null=True, blank=True)

    notices_enabled = models.BooleanField(default=True)
    notice_texts = models.JSONField(default=dict, blank=True, help_text="Language code → notice text.")
    notice_default_language = models.CharField(max_length=16, default="en")
    # "We're back": users told the bot was down hear once that it works again (off by default).
    back_enabled = models.BooleanField(default=False)
    back_texts = models.JSONField(default=dict, blank=True, help_text='Language code → "we\'re back" text.')
    # When users were last told the bot is down: for a day after, the proxy looks for their updates going through.
    users_told_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One bot, one webhook: a Telegram bot is connected once in the whole service.
            models.UniqueConstraint(fields=["telegram_id"], name="bot_unique_telegram_id"),
        ]

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else f"bot {self.uuid}"

    @property
    def proxy_url(self) -> str:
        return f"{settings.PROXY_URL or settings.PUBLIC_URL}/proxy/bot/{self.uuid}"

    @property
    def is_token_mode(self) -> bool:
        return self.mode == self.Mode.TOKEN

    @property
    def shown_status(self) -> str:
        """The status an owner sees: a live bot whose endpoint fails shows as failing."""
        live = (self.Status.ACTIVE, self.Status.WAITING, self.Status.SILENT)
        return self.Status.FAILING if self.endpoint_failing_since and self.status in live else self.status

    def get_shown_status_display(self) -> str:
        return str(self.Status(self.shown_status).label)


class MaintenanceWindow(models.Model):
    """A planned outage: token-mode bots are pointed at their own endpoints while it lasts."""

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        BYPASSING = "bypassing", "Bypassing bots"
        BYPASSED = "bypassed", "Bots bypassed"
        RECONNECTING = "reconnecting", "Reconnecting bots"
        DONE = "done", "Done"

    OPEN = frozenset({State.BYPASSING, State.BYPASSED, State.RECONNECTING})

    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="Expected end: bots are reconnected then.")
    reason = models.CharField(max_length=200, help_text="Shown to owners in the notice and the banner.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PLANNED, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When owners were told in advance.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"Maintenance {self.starts_at:%Y-%m-%d %H:%M} UTC ({self.get_state_display()})"


class MaintenanceSwitch(models.Model):
    """One bot switched one way in one window: the row is the claim and the progress record."""

    class Direction(models.TextChoices):
        BYPASS = "bypass", "Bypass"
        RECONNECT = "reconnect", "Reconnect"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="switches")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="maintenance_switches")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "maintenance switch"
        verbose_name_plural = "maintenance switches"
        constraints = [
            models.UniqueConstraint(fields=["window", "bot", "direction"], name="maintenance_switch_unique"),
        ]
        indexes = [models.Index(fields=["window", "direction", "state"], name="maintenance_switch_progress")]

    def __str__(self) -> str:
        return f"{self.direction} bot {self.bot_id} ({self.state})"


class BotJob(models.Model):
    """Staff's action on many bots at once (admin): run by workers, one claimed item per bot."""

    class Action(models.TextChoices):
        BYPASS = "bypass", "Bypass (point at the original webhook)"
        RECONNECT = "reconnect", "Reconnect to the proxy"
        DISCONNECT = "disconnect", "Disconnect (restore the original webhook)"
        DELETE = "delete", "Delete (restore the original webhook first)"

    action = models.CharField(max_length=16, choices=Action.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "bulk action on bots"
        verbose_name_plural = "bulk actions on bots"

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class BotJobItem(models.Model):
    """One bot of a bulk action: the row is the claim and the progress record."""

    job = models.ForeignKey(BotJob, on_delete=models.CASCADE, related_name="items")
    # Kept when the action deletes the bot, so the progress still names it.
    bot = models.ForeignKey(Bot, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    bot_name = models.CharField(max_length=80)
    state = models.CharField(
        max_length=16, choices=MaintenanceSwitch.State.choices, default=MaintenanceSwitch.State.PENDING
    )
    reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["job", "state"], name="botjobitem_progress")]

    def __str__(self) -> str:
        return f"{self.bot_name} ({self.state})"
