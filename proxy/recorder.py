"""The analytics record of each update, written to the buffer in batches by one thread per process.

One pipelined write of many records (an XADD each, one round trip) costs little
more than one of a single record, and the round trip to Redis was the largest
cost of a forward after the forward itself. A request only appends to a deque (no lock, no wake-up); the thread
writes what gathered every few hundredths of a second. Past MAX_QUEUED the
record is written directly instead.
"""

from __future__ import annotations

import atexit
import threading
from collections import deque
from typing import Any

from django.db import connections

from analytics.buffer import losses_flush, record_push, records_push

INTERVAL = 0.05
MAX_QUEUED = 20_000
MAX_BATCH = 1000


class Recorder:
    """Records gathered by requests, written by one thread per process (started with the server: proxy.runtime)."""

    def __init__(self) -> None:
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Forget what is gathered and stop the thread (tests)."""
        self._stop.set()
        self._stop = threading.Event()
        self._pending: deque[dict[str, Any]] = deque()
        self._thread = None

    def start(self) -> None:
        """Write gathered records from a background thread of this process (once)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, args=(self._stop,), name="proxy-recorder", daemon=True
                )
                self._thread.start()
                atexit.register(losses_flush)  # runs last (atexit is LIFO): what the last flush lost, too
                atexit.register(self.flush)

    def put(self, record: dict[str, Any]) -> None:
        """Never blocks, never raises (the buffer counts what it loses)."""
        if len(self._pending) >= MAX_QUEUED:
            record_push(record)
            return
        self._pending.append(record)

    def flush(self) -> None:
        """Write everything gathered so far (the thread, tests, exit)."""
        with self._write_lock:
            while self._pending:
                batch: list[dict[str, Any]] = []
                while self._pending and len(batch) < MAX_BATCH:
                    batch.append(self._pending.popleft())
                records_push(batch)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(INTERVAL):
            if self._pending:
                self.flush()
                connections.close_all()  # the database fallback: hold no connection between batches


recorder = Recorder()
