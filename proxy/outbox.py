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

from django.db import connections

from botpresto.core.metrics import SIDE_WORK_DROPPED

logger = logging.getLogger(__name__)

MAX_QUEUED = 10_000
PAUSE_AFTER_ERROR = 5.0
_LOG_EVERY = 10.0
Work = tuple[Callable[..., Any], tuple[Any, ...]]


class Outbox:
    """Work queued by requests, run by one thread per process (started with the server: proxy.runtime)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget queued work and counts, and stop the thread (tests)."""
        if self._thread is not None:
            self._queue.put(None)  # the thread's last item: it stops
        self._queue: queue.Queue[Work | None] = queue.Queue(MAX_QUEUED)
        self._paused_until = 0.0
        self._last_log = 0.0
        self.dropped = 0
        self._thread = None

    def start(self) -> None:
        """Run queued work from a background thread of this process (once)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, args=(self._queue,), name="proxy-outbox", daemon=True
                )
                self._thread.start()

    def put(self, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work(*args)`` soon, off the caller's thread. Never blocks, never raises."""
        try:
            self._queue.put_nowait((work, args))
        except queue.Full:
            self._drop("queue_full")

    def drain(self) -> int:
        """Run what is queued now in the caller's thread (exit, and tests that have no server thread)."""
        done = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return done
            if item is not None:
                self._run_one(*item)
                done += 1
            self._queue.task_done()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the thread has done the queued work."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _loop(self, work_queue: queue.Queue[Work | None]) -> None:
        while (item := work_queue.get()) is not None:
            try:
                if time.monotonic() < self._paused_until:
                    self._drop("paused")
                else:
                    self._run_one(*item)
            finally:
                if work_queue.empty():
                    # Idle now: hold no database connection (the database cache, eager tasks) until next time.
                    connections.close_all()
                work_queue.task_done()

    def _run_one(self, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            work(*args)
        except Exception as exc:  # Redis, the broker or a bug: skip work for a moment, never die
            self._paused_until = time.monotonic() + PAUSE_AFTER_ERROR
            self._drop(f"error:{type(exc).__name__}", work=getattr(work, "__name__", "?"))

    def _drop(self, reason: str, work: str = "") -> None:
        self.dropped += 1
        SIDE_WORK_DROPPED.inc()
        now = time.monotonic()
        if now - self._last_log > _LOG_EVERY:  # one line per ten seconds, not one per update
            self._last_log = now
            logger.warning("proxy_side_work_lost reason=%s work=%s lost_in_process=%d", reason, work, self.dropped)


outbox = Outbox()
