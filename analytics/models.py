from __future__ import annotations

import zlib

from django.db import models

from analytics.stats import BUCKETS
from botpresto.bots.models import Bot


class BufferedRecord(models.Model):
    """One update's metadata waiting for the analytics workers.

    Used only without Redis (the embedded default): the same buffer, slower.
    """

    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"buffered record {self.pk}"


class DrainedRecord(models.Model):
    """A Redis buffer entry whose statistics are written (analytics.buffer.entry_key), kept until it is
    acknowledged: written in the same transaction as the statistics, it makes a second delivery of the
    entry (a worker killed between the commit and the acknowledgement) a no-op. Holds no content."""

    key = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"drained entry {self.key}"


class EndUser(models.Model):
    """A Telegram user who sent a bot an update: their public profile, never what they wrote."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="end_users")
    telegram_id = models.BigIntegerField()  # up to 52 bits
    first_name = models.CharField(max_length=256, blank=True)
    last_name = models.CharField(max_length=256, blank=True)
    username = models.CharField(max_length=64, blank=True)
    language_code = models.CharField(max_length=35, blank=True)
    is_premium = models.BooleanField(default=False)
    is_bot = models.BooleanField(default=False)
    blocked = models.BooleanField(default=False, help_text="The user blocked the bot (private chat).")
    campaign = models.CharField(
        max_length=64, blank=True, help_text="The deep link's /start payload the user first came with, if any."
    )
    in_cohort = models.BooleanField(
        default=True, help_text="Counted in the cohort of the day first seen (not users seen before cohorts were kept)."
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "telegram_id"], name="enduser_unique_bot_telegram_id")]
        indexes = [
            # The users page lists by recent activity; stats count users active since a time.
            models.Index(fields=["bot", "last_seen"], name="enduser_bot_last_seen"),
            models.Index(fields=["bot", "language_code", "last_seen"], name="enduser_bot_language"),
            models.Index(fields=["bot", "campaign", "last_seen"], name="enduser_bot_campaign"),
        ]

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else f"user {self.telegram_id}"


def _empty_latency() -> list[int]:
    return [0] * BUCKETS


class StatsCounters(models.Model):
    """Counters of one bot over one period (analytics.stats.HourCounters holds the same).

    Updates are counted once per update_id; attempts, failures and latency once
    per delivery attempt, because each retry is a real request to the owner.
    """

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+")
    updates = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0, help_text="Distinct users with an update in the period.")
    day_users = models.PositiveIntegerField(
        default=0, help_text="Users whose first update of the UTC day was in the period."
    )
    new_users = models.PositiveIntegerField(default=0, help_text="Users first seen in the period.")
    skipped = models.PositiveIntegerField(default=0, help_text="Malformed or unknown updates (forwarded, not read).")
    mixpanel_dropped = models.PositiveIntegerField(default=0, help_text="Events and profiles Mixpanel never got.")
    blocks = models.PositiveIntegerField(default=0, help_text="Users who blocked the bot (private chats).")
    unblocks = models.PositiveIntegerField(default=0, help_text="Users who had blocked the bot and unblocked it.")
    by_type = models.JSONField(default=dict)
    failures_by_kind = models.JSONField(default=dict)
    latency = models.JSONField(default=_empty_latency, help_text="Attempts per latency bucket (analytics.stats).")
    commands = models.JSONField(default=dict)
    languages = models.JSONField(default=dict, help_text="Distinct users of the period by language.")
    chat_types = models.JSONField(default=dict)

    class Meta:
        abstract = True


class BotHourlyStats(StatsCounters):
    """What one bot received in one UTC hour (by the time the proxy received it)."""

    hour = models.DateTimeField()

    class Meta:
        verbose_name_plural = "bot hourly stats"
        constraints = [models.UniqueConstraint(fields=["bot", "hour"], name="bothourlystats_unique_bot_hour")]
        indexes = [models.Index(fields=["hour"], name="bothourlystats_hour")]  # retention deletes by age

    def __str__(self) -> str:
        return f"{self.bot_id} @ {self.hour:%Y-%m-%d %H:00}"


class BotDailyStats(StatsCounters):
    """The same for one UTC day, written with the hours: a month reads 30 rows, not 720 scattered ones."""

    day = models.DateTimeField()

    class Meta:
        verbose_name_plural = "bot daily stats"
        constraints = [models.UniqueConstraint(fields=["bot", "day"], name="botdailystats_unique_bot_day")]
        indexes = [models.Index(fields=["day"], name="botdailystats_day")]

    def __str__(self) -> str:
        return f"{self.bot_id} @ {self.day:%Y-%m-%d}"


class CohortDay(models.Model):
    """One bot's users by the UTC day they were first seen and the campaign they came with ("" for none).

    ``new_users`` is the cohort; ``retained_d1`` and ``retained_d7`` count those of them active again
    one and seven days later. ``active_users`` counts the campaign's users active on ``day`` (whatever
    their cohort), so the rows of a day add up to its distinct users. Counters only: no user is named.
    """

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+")
    day = models.DateTimeField()
    campaign = models.CharField(max_length=64, blank=True)
    new_users = models.PositiveIntegerField(default=0)
    active_users = models.PositiveIntegerField(default=0)
    retained_d1 = models.PositiveIntegerField(default=0)
    retained_d7 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "day", "campaign"], name="cohortday_unique_bot_day_campaign")
        ]
        indexes = [models.Index(fields=["day"], name="cohortday_day")]  # retention deletes by age

    def __str__(self) -> str:
        return f"{self.bot_id} @ {self.day:%Y-%m-%d} {self.campaign or '(no campaign)'}"


class MixpanelPending(models.Model):
    """Events or profile updates waiting to be sent to a bot's Mixpanel project (the outbox).

    Written by the drain with the statistics, sent and deleted by the sender,
    retried with backoff when Mixpanel fails. Stored without the project token
    (added when sent), so the table holds no secret.
    """

    class Endpoint(models.TextChoices):
        EVENTS = "events", "Events"
        PEOPLE = "people", "Profiles"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="mixpanel_pending")
    endpoint = models.CharField(max_length=8, choices=Endpoint.choices)
    # Compressed: events repeat the same keys, and bytes pass the database driver unescaped.
    payload = models.BinaryField(help_text="zlib-compressed JSON list of events or profile updates, without the token.")
    count = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="Bytes of JSON once decompressed.")
    oldest = models.FloatField(help_text="Unix time of the oldest event: /track refuses those over 5 days old.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Sends tried and failed.")
    next_attempt_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Mixpanel outbox batch"
        verbose_name_plural = "Mixpanel outbox"
        indexes = [models.Index(fields=["bot", "created_at"], name="mixpanelpending_bot")]

    def __str__(self) -> str:
        return f"{self.count} {self.endpoint} for bot {self.bot_id}"

    @property
    def items_json(self) -> str:
        return zlib.decompress(self.payload).decode()


class PipelineCounter(models.Model):
    """Service-wide tallies staff watch: what the pipeline had to give up on."""

    MIXPANEL_DROPPED = "mixpanel_dropped"
    RECORDS_INVALID = "records_invalid"
    RECORDS_UNKNOWN_BOT = "records_unknown_bot"
    RECORDS_FAILED = "records_failed"
    RECORDS_LOST = "records_lost"

    name = models.CharField(max_length=64, unique=True)
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"


class Delivery(models.Model):
    """One delivery attempt of one update, as the delivery log shows it (analytics.deliveries).

    Metadata only, never what the user sent. Written by the drain in batches;
    pruned by age and by count per bot (DELIVERY_LOG_DAYS, DELIVERY_LOG_MAX_PER_BOT).
    """

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField(help_text="When the proxy received the attempt.")
    update_id = models.BigIntegerField(null=True, blank=True, help_text="Null when the update was not understood.")
    update_type = models.CharField(max_length=40, blank=True)
    chat_type = models.CharField(max_length=16, blank=True)
    status = models.PositiveSmallIntegerField(help_text="What the proxy answered Telegram.")
    upstream_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="What the endpoint answered.")
    latency_ms = models.FloatField(null=True, blank=True)
    failure = models.CharField(max_length=16, blank=True, help_text="Kind of failure; empty when delivered.")
    filtered = models.BooleanField(default=False, help_text="Only the analytics asked for it: answered, not forwarded.")
    notice_sent = models.BooleanField(default=False, help_text="The user was told the bot is unavailable.")

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["bot", "-received_at"], name="delivery_bot_time"),
            models.Index(fields=["bot", "-received_at"], name="delivery_bot_failed", condition=~models.Q(failure="")),
            models.Index(fields=["bot", "update_type", "-received_at"], name="delivery_bot_type"),
            models.Index(fields=["bot", "update_id"], name="delivery_bot_update"),  # attempt numbers, ?update_id=
            models.Index(fields=["received_at"], name="delivery_time"),  # retention deletes by age
        ]

    def __str__(self) -> str:
        return f"{self.bot_id} update {self.update_id} @ {self.received_at:%Y-%m-%d %H:%M:%S}"
