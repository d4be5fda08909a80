"""Side work of the forward, done by one background thread per process, never by a request.

Failure bookkeeping (cache reads and writes), queueing Celery tasks and the
like may block when Redis or the broker is slow or down; here they only slow
this thread. The queue is bounded: past it, work is dropped and counted. After
an error the outbox skips work for a few seconds instead of waiting on a dead
server again and again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from celery import Task
from django.db import connections

logger = logging.getLogger(__name__)

MAX_QUEUED = 10_000
PAUSE_AFTER_ERROR = 5.0
_LOG_EVERY = 10.0


class Outbox:
    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.Queue(MAX_QUEUED)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._paused_until = 0.0
        self._last_log = 0.0
        self.synchronous = False  # run work in the caller (tests of the logic itself)
        self.dropped = 0

    def put(self, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work(*args)`` soon, off the caller's thread. Never blocks, never raises."""
        if self.synchronous:
            self._run_one(work, args)
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait((work, args))
        except queue.Full:
            self._drop("queue_full")

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until queued work is done (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="proxy-outbox", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            work, args = self._queue.get()
            try:
                if time.monotonic() < self._paused_until:
                    self._drop("paused")
                else:
                    self._run_one(work, args)
            finally:
                if self._queue.empty():
                    # Idle now: hold no database connection (the database cache, eager tasks) until next time.
                    connections.close_all()
                self._queue.task_done()

    def _run_one(self, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            work(*args)
        except Exception as exc:  # Redis, the broker or a bug: skip work for a moment, never die
            self._paused_until = time.monotonic() + PAUSE_AFTER_ERROR
            self._drop(f"error:{type(exc).__name__}", work=getattr(work, "__name__", "?"))

    def _drop(self, reason: str, work: str = "") -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_log > _LOG_EVERY:  # one line per ten seconds, not one per update
            self._last_log = now
            logger.warning("proxy_side_work_lost reason=%s work=%s lost_in_process=%d", reason, work, self.dropped)


outbox = Outbox()


def task_publish(task: Task, *args: Any) -> None:
    """Queue a Celery task without retrying a broker that is down (the outbox counts the loss)."""
    task.apply_async(args=args, retry=False)
