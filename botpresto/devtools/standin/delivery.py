"""Pushing queued updates to webhooks the way Telegram does.

Each queue (a chat, or a sender for queries) has at most its head in flight; different queues go out in
parallel, one worker thread per connection, up to the bot's max_connections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from botpresto.devtools.standin.state import Bot, DeliveryAttempt, Queue
from botpresto.devtools.standin.wire import compact_json

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 3600


@dataclass(frozen=True)
class Outcome:
    status: int | None = None
    reason: str = ""
    error: str | None = None
    message: str = ""  # what getWebhookInfo.last_error_message shows on failure
    retry_after: int = 0
    content_type: str = ""
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status <= 299


@dataclass(frozen=True)
class Job:
    queue: Queue
    update: dict[str, Any]
    url: str
    secret_token: str | None


# Called without the lock held, with the bot and a 2xx answer's content type and body.
ReplyHandler = Callable[[Bot, str, bytes], None]


class Dispatcher:
    def __init__(
        self,
        changed: threading.Condition,
        on_reply: ReplyHandler,
        *,
        read_timeout: float,
        retry_base_delay: float,
        retry_max_delay: float,
        gone_after: float,
    ) -> None:
        self._changed = changed
        self._on_reply = on_reply
        self._read_timeout = read_timeout
        self._retry_base_delay = retry_base_delay
        self._retry_max_delay = retry_max_delay
        self._gone_after = gone_after
        self._stopping = False
        self._threads: set[threading.Thread] = set()

    def kick(self, bot: Bot) -> None:
        """Wake the bot's workers and add some if there are more queues than workers. Hold the lock."""
        self._changed.notify_all()
        if self._stopping or bot.revoked or not bot.webhook_url:
            return
        for _ in range(min(bot.connection_limit, len(bot.queues)) - bot.workers):
            bot.workers += 1
            thread = threading.Thread(target=self._work, args=(bot,), name=f"standin-webhook-{bot.id}", daemon=True)
            self._threads.add(thread)
            thread.start()

    def stop(self, timeout: float) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            # A worker stuck in a slow POST is a daemon thread: leave it rather than hang.
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self, bot: Bot) -> None:
        session = requests.Session()
        try:
            while (job := self._next_job(bot)) is not None:
                outcome = self._post(session, job)
                if outcome.ok:
                    # Before the update counts as done, so a test that waits for it sees the reply's call.
                    try:
                        self._on_reply(bot, outcome.content_type, outcome.body)
                    except Exception:
                        logger.exception("standin: the webhook reply of bot %s failed", bot.id)
                self._settle(bot, job, outcome)
        finally:
            session.close()
            with self._changed:
                self._threads.discard(threading.current_thread())

    def _next_job(self, bot: Bot) -> Job | None:
        """The next update this worker should send; None when the worker should end (it has left the pool)."""
        with self._changed:
            while True:
                if self._stopping or bot.revoked or not bot.webhook_url or bot.workers > bot.connection_limit:
                    bot.workers -= 1
                    return None
                now = time.monotonic()
                queue, wake_at = bot.next_ready(now)
                if queue is not None:
                    queue.in_flight = True
                    return Job(queue, queue.updates[0], bot.webhook_url, bot.secret_token)
                if wake_at is None:
                    bot.workers -= 1
                    return None
                self._changed.wait(wake_at - now)

    def _post(self, session: requests.Session, job: Job) -> Outcome:
        headers = {"Content-Type": "application/json"}
        if job.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = job.secret_token
        try:
            response = session.post(
                job.url,
                data=compact_json(job.update),
                headers=headers,
                timeout=self._read_timeout,
                allow_redirects=False,
            )
        except requests.ReadTimeout:
            return Outcome(error="read_timeout", message="Read timeout expired")
        except requests.ConnectTimeout:
            return Outcome(error="connect_timeout", message="Connection timed out")
        except requests.ConnectionError as exc:
            if "refused" in str(exc).lower():
                return Outcome(error="connection_refused", message="Connection refused")
            return Outcome(error="connection_closed", message="Webhook connection closed")
        except requests.RequestException as exc:
            return Outcome(error="bad_request", message=f"Failed to send the update: {type(exc).__name__}")
        return Outcome(
            status=response.status_code,
            reason=response.reason or "",
            message=f"Wrong response from the webhook: {response.status_code} {response.reason or ''}".rstrip(),
            retry_after=_retry_after(response.headers.get("Retry-After")),
            content_type=response.headers.get("Content-Type", ""),
            body=response.content,
        )

    def _settle(self, bot: Bot, job: Job, outcome: Outcome) -> None:
        with self._changed:
            now = time.monotonic()
            queue = job.queue
            queue.in_flight = False
            update_id = int(job.update["update_id"])
            bot.attempts.append(
                DeliveryAttempt(
                    update_id, job.url, time.time(), outcome.status, outcome.error, outcome.content_type, outcome.body
                )
            )
            # drop_pending_updates may have removed the queue while the update was in flight.
            is_head = bot.queues.get(queue.key) is queue and bool(queue.updates) and queue.updates[0] is job.update
            if outcome.ok:
                bot.gone_since = None
                bot.delivered.append(job.update)
                if is_head:
                    queue.updates.popleft()
                    queue.reset_retries()
                    if not queue.updates:
                        del bot.queues[queue.key]
            else:
                bot.last_error_date = int(time.time())
                bot.last_error_message = outcome.message
                if is_head:
                    self._schedule_retry(queue, outcome.retry_after, now)
                if outcome.status != 410:
                    bot.gone_since = None
                elif bot.gone_since is None:
                    bot.gone_since = now
                elif now - bot.gone_since > self._gone_after and job.url == bot.webhook_url:
                    logger.warning("standin: removing the webhook of bot %s after a run of 410 answers", bot.id)
                    bot.set_webhook("", secret_token=None, max_connections=None, ip_address=None, certificate=None)
            self._changed.notify_all()

    def _schedule_retry(self, queue: Queue, retry_after: int, now: float) -> None:
        # The first retry goes at once, later ones wait twice as long each time; Retry-After overrides.
        if retry_after > 0:
            wait = float(retry_after)
        elif queue.fail_count == 0:
            wait = 0.0
        else:
            queue.delay = min(self._retry_max_delay, queue.delay * 2 if queue.delay else self._retry_base_delay)
            wait = queue.delay
        queue.fail_count += 1
        queue.retry_at = now + wait


def _retry_after(value: str | None) -> int:
    try:
        return min(max(int(value or 0), 0), MAX_RETRY_AFTER)
    except ValueError:
        return 0
