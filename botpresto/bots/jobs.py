"""Staff's actions on many bots at once, run by workers so the admin answers at once.

A job has one item per bot. A worker claims an item with a conditional UPDATE (pending,
or running but abandoned by a dead worker), so no bot is handled twice, and progress
is the items' states. Each bot goes through the same service as a single one would:
the maintenance switch, bot_disconnect, bot_delete. Telegram calls stay under
MAINTENANCE_CALLS_PER_SECOND with every other bulk job.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from botpresto.bots import services
from botpresto.bots.models import Bot, BotJob, BotJobItem, MaintenanceSwitch
from botpresto.bots.selectors import Progress
from botpresto.bots.switch import maintenance_bot_switch
from botpresto.core.enqueue import task_enqueue
from botpresto.core.errors import ApplicationError
from botpresto.core.retry import TRANSIENT_ERRORS
from botpresto.core.telegram import RateLimited, TelegramUnavailable
from botpresto.core.throttle import TELEGRAM_BULK, throttle_acquire

logger = logging.getLogger(__name__)

RUN_TASK = "botpresto.bots.tasks.bot_job_run_task"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
Item = MaintenanceSwitch.State
Action = BotJob.Action


def bot_job_create(
    *, action: str, bots: list[Bot], requested_by: AbstractBaseUser | AnonymousUser | None = None
) -> BotJob:
    """Record the job and hand it to workers, MAINTENANCE_CHUNK_SIZE bots per task."""
    now = timezone.now()
    with transaction.atomic():
        job = BotJob.objects.create(
            action=action, requested_by=requested_by if isinstance(requested_by, User) else None
        )
        BotJobItem.objects.bulk_create(
            [BotJobItem(job=job, bot=bot, bot_name=str(bot)[:80], updated_at=now) for bot in bots], batch_size=500
        )
        for _ in range(max(1, math.ceil(len(bots) / settings.MAINTENANCE_CHUNK_SIZE))):
            task_enqueue(RUN_TASK, job.id)
    logger.info("bot_job_created job=%s action=%s bots=%d", job.id, action, len(bots))
    return job


def _claimable() -> Q:
    return Q(state=Item.PENDING) | Q(state=Item.RUNNING, updated_at__lt=timezone.now() - LEASE)


def _claim(job: BotJob) -> BotJobItem | None:
    for item_id in job.items.filter(_claimable()).order_by("id").values_list("id", flat=True)[:20]:
        if BotJobItem.objects.filter(_claimable(), id=item_id).update(
            state=Item.RUNNING, attempts=F("attempts") + 1, updated_at=timezone.now()
        ):
            return BotJobItem.objects.select_related("bot").get(id=item_id)
    return None


def _handle(action: str, bot: Bot) -> tuple[str, str]:
    if action in (Action.BYPASS, Action.RECONNECT):
        if not bot.is_token_mode:
            return Item.SKIPPED, "manual mode: we do not hold its token"
        outcome = maintenance_bot_switch(bot=bot, direction=action)
        return outcome.state, outcome.reason
    throttle_acquire(bucket=TELEGRAM_BULK, rate=settings.MAINTENANCE_CALLS_PER_SECOND)
    try:
        if action == Action.DISCONNECT:
            services.bot_disconnect(bot=bot)
        else:
            services.bot_delete(bot=bot)
    except ApplicationError as exc:
        # Telegram away or asking us to wait: the bot is tried again by the task's retry.
        if exc.code == "telegram_rate_limited":
            raise RateLimited("bulk", exc.message, exc.retry_after or 1) from None
        if exc.code == "telegram_unavailable":
            raise TelegramUnavailable("bulk", exc.message) from None
        return Item.FAILED, exc.message
    return Item.DONE, ""


def bot_job_run(*, job: BotJob, max_items: int | None = None) -> int:
    """Handle the job's bots one at a time until none is left (or ``max_items``); returns how many."""
    handled = 0
    while max_items is None or handled < max_items:
        item = _claim(job)
        if item is None:
            break
        state: str
        if item.bot is None:
            state, reason = Item.SKIPPED, "the bot was deleted meanwhile"
        else:
            try:
                state, reason = _handle(job.action, item.bot)
            except TRANSIENT_ERRORS:
                retry = item.attempts < MAX_ATTEMPTS
                BotJobItem.objects.filter(id=item.id).update(
                    state=Item.PENDING if retry else Item.FAILED,
                    reason="" if retry else "Telegram stayed unavailable",
                    updated_at=timezone.now(),
                )
                raise
        BotJobItem.objects.filter(id=item.id).update(state=state, reason=reason[:300], updated_at=timezone.now())
        logger.info("bot_job_item job=%s bot=%s state=%s", job.id, item.bot_name, state)
        handled += 1
    return handled


def bot_job_progress(*, job: BotJob) -> Progress:
    counts: Counter[str] = Counter(dict(job.items.values_list("state").annotate(n=Count("id")).order_by()))
    reasons = (
        job.items.filter(state__in=[Item.FAILED, Item.SKIPPED])
        .values_list("state", "reason")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return Progress(
        done=counts[Item.DONE],
        left=counts[Item.PENDING] + counts[Item.RUNNING],
        failed=counts[Item.FAILED],
        skipped=counts[Item.SKIPPED],
        reasons=[(state, reason, n) for state, reason, n in reasons],
    )
