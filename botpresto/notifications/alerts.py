"""Owner alerts: recorded with the change that causes them, sent once by a task.

``alert_record`` runs inside the caller's transaction (a bot's state transition, the
start of a maintenance notice), so the alert exists exactly when the change does.
``alert_send`` claims the row with a conditional UPDATE, so two workers (or a task and
the sweep) never send it twice, and releases it on a failure for the retry; the row
records each channel it reached, so the retry sends only the rest.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from botpresto.bots.models import Bot
from botpresto.core.enqueue import task_enqueue
from botpresto.core.metrics import ALERTS
from botpresto.notifications.channels import Message, deliveries
from botpresto.notifications.emails import email_render
from botpresto.notifications.models import OwnerAlert

logger = logging.getLogger(__name__)

SEND_TASK = "botpresto.notifications.tasks.owner_alert_send_task"
LEASE = timedelta(minutes=2)  # a claimed alert not sent by then belongs to a worker that died
SWEEP_AFTER = timedelta(seconds=30)  # an unsent alert this old lost its task
GIVE_UP_AFTER = timedelta(days=1)
KEEP_SENT = timedelta(days=30)
Kind = OwnerAlert.Kind

WHAT_TO_CHECK = {
    "connect": "Is the server running, and listening on the port of your endpoint's URL? Is a firewall in the way?",
    "dns": "Does your endpoint's host name still resolve (DNS records, an expired domain)?",
    "tls": "Is your certificate valid, unexpired and issued for the host name? If it is self-signed, "
    "upload the current one in the bot's settings.",
    "timeout": "Does your endpoint answer within {read_timeout:g} seconds? Answer first and do long work afterwards.",
    "redirect": "Your endpoint answered with a redirect, which Telegram does not follow. Use the final URL "
    "(mind https and a trailing slash).",
    "gone": "Your endpoint answered 410 Gone. Is the webhook route still there?",
    "http_status": "Your endpoint answered with an error status. Check its logs; a 401 or 403 often means it "
    "expects a different secret token than the one you gave us.",
    "overload": "Too many updates were waiting on your endpoint at once: it answers too slowly.",
}
ERROR_NAMES = {
    "connect": "connection refused or reset",
    "dns": "host name does not resolve",
    "tls": "TLS certificate or handshake error",
    "timeout": "no answer in time",
    "redirect": "redirect",
    "gone": "410 Gone",
    "http_status": "error status",
    "overload": "too many updates waiting",
}


def alert_record(
    *, tenant_id: int, kind: str, bot_id: int | None = None, details: dict[str, Any] | None = None
) -> None:
    """Write the alert in the current transaction; its sending is queued once that commits."""
    alert = OwnerAlert.objects.create(tenant_id=tenant_id, bot_id=bot_id, kind=kind, details=details or {})
    task_enqueue(SEND_TASK, alert.id)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _context(alert: OwnerAlert) -> dict[str, Any]:
    details = alert.details
    context: dict[str, Any] = {"dashboard_url": f"{settings.PUBLIC_URL}{reverse('dashboard')}", **details}
    bot: Bot | None = alert.bot
    if bot is not None:
        context["bot"] = bot
        context["bot_url"] = f"{settings.PUBLIC_URL}{reverse('bot_detail', args=[bot.uuid])}"
        context["settings_url"] = f"{settings.PUBLIC_URL}{reverse('bot_settings', args=[bot.uuid])}#token"
    if alert.kind == Kind.FAILING:
        error = str(details.get("error") or "")
        context["since"] = _when(float(details["since"]))
        context["error"] = ERROR_NAMES.get(error, error)
        context["what_to_check"] = WHAT_TO_CHECK.get(error, "").format(read_timeout=settings.PROXY_READ_TIMEOUT)
    elif alert.kind == Kind.RECOVERED:
        since, until = float(details["since"]), float(details["until"])
        context.update(since=_when(since), until=_when(until), duration=_duration(until - since))
    return context


class AlertHeldBack(Exception):
    """A recovered alert waits for the failing alert of the same outage: the owners read them in order."""


def _claim(alert_id: int, now: datetime, claimer: str) -> OwnerAlert | None:
    claimable = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE)
    if claimer:
        claimable |= Q(claimed_by=claimer)
    claimed = OwnerAlert.objects.filter(claimable, id=alert_id, sent_at__isnull=True).update(
        claimed_at=now, claimed_by=claimer, attempts=F("attempts") + 1
    )
    return OwnerAlert.objects.select_related("bot", "tenant").get(id=alert_id) if claimed else None


def _release(alert_id: int) -> None:
    OwnerAlert.objects.filter(id=alert_id).update(claimed_at=None, claimed_by="")


def _failing_unsent(alert: OwnerAlert, now: datetime) -> bool:
    """An earlier failing alert of this bot is still to be sent (its task is retrying, say)."""
    return (
        alert.kind == Kind.RECOVERED
        and alert.bot_id is not None
        and OwnerAlert.objects.filter(
            bot_id=alert.bot_id,
            kind=Kind.FAILING,
            id__lt=alert.id,
            sent_at__isnull=True,
            created_at__gte=now - GIVE_UP_AFTER,
        ).exists()
    )


def alert_send(*, alert_id: int, claimer: str = "") -> int:
    """Send the alert on every channel that should have it and has not yet, once; returns the deliveries made
    (0 if another sender had it). A channel that fails for now frees the alert for the retry, which sends only
    what is missing (botpresto.notifications.channels). ``claimer`` names the task, whose retries may take
    back its own claim. Raises AlertHeldBack while the failing alert of the same outage is unsent."""
    now = timezone.now()
    alert = _claim(alert_id, now, claimer)
    if alert is None:
        return 0
    if _failing_unsent(alert, now):
        _release(alert.id)
        raise AlertHeldBack(alert.id)
    delivered = list(alert.delivered or [])
    made = 0
    try:
        context = _context(alert)
        subject, body = email_render(template=f"notifications/email/{alert.kind}", context=context)
        message = Message(subject, body, str(context.get("bot_url") or context["dashboard_url"]))
        for delivery in deliveries(alert=alert, message=message):
            if delivery.key in delivered:
                continue
            delivery.send()
            delivered.append(delivery.key)
            made += 1
            ALERTS.labels(channel=delivery.key.split(":", 1)[0]).inc()
            OwnerAlert.objects.filter(id=alert.id).update(delivered=delivered)
    except Exception:
        _release(alert.id)  # free for the retry (if the database is away, the retry takes its claim back)
        raise
    OwnerAlert.objects.filter(id=alert.id).update(sent_at=timezone.now(), recipients=len(delivered))
    logger.info(
        "owner_alert_sent alert=%s kind=%s bot=%s deliveries=%d",
        alert.id,
        alert.kind,
        alert.bot.uuid if alert.bot else "-",
        len(delivered),
    )
    return made


def alerts_sweep(*, now: datetime | None = None) -> int:
    """Queue alerts whose task never ran; forget old sent ones. Returns how many were queued."""
    now = now or timezone.now()
    lost = OwnerAlert.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE),
        sent_at__isnull=True,
        created_at__lt=now - SWEEP_AFTER,
        created_at__gte=now - GIVE_UP_AFTER,
    ).values_list("id", flat=True)
    ids = list(lost[:500])
    for alert_id in ids:
        task_enqueue(SEND_TASK, alert_id)
    OwnerAlert.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    if ids:
        logger.warning("owner_alerts_requeued count=%d", len(ids))
    return len(ids)
