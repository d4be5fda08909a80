"""The analytics record of each update, written to the buffer in batches by one thread per process.

One RPUSH of many records costs little more than one of a single record, and
the round trip to Redis was the largest cost of a forward after the forward
itself. A request only appends to a deque (no lock, no wake-up); the thread
writes what gathered every few hundredths of a second. Past MAX_QUEUED the
record is written directly instead.
"""

from __future__ import annotations

import atexit
import threading
from collections import deque
from typing import Any

from django.db import connections

from analytics.buffer import record_push, records_push

INTERVAL = 0.05
MAX_QUEUED = 20_000
MAX_BATCH = 1000


class Recorder:
    def __init__(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.synchronous = False  # write in the caller (tests that read the buffer right after a request)

    def put(self, record: dict[str, Any]) -> None:
        """Never blocks, never raises (the buffer counts what it loses)."""
        if self.synchronous or len(self._pending) >= MAX_QUEUED:
            record_push(record)
            return
        self._pending.append(record)
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def flush(self) -> None:
        """Write everything gathered so far (the thread, tests, exit)."""
        with self._write_lock:
            while self._pending:
                batch: list[dict[str, Any]] = []
                while self._pending and len(batch) < MAX_BATCH:
                    batch.append(self._pending.popleft())
                records_push(batch)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="proxy-recorder", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(INTERVAL):
            if self._pending:
                self.flush()
                connections.close_all()  # the database fallback: hold no connection between batches


recorder = Recorder()
