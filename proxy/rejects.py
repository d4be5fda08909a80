"""The log of refused requests: one line per event, and a flood summarised.

A junk flood must not fill the disk: past the first few of a reason in an interval,
refusals are only counted, and one line per reason says how many there were.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from botpresto.core.metrics import REJECTED

logger = logging.getLogger("proxy.rejects")

INTERVAL = 10.0  # seconds summarised in one line
DETAILED = 5  # refusals of one reason logged in full per interval


class Rejects:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._counts: Counter[str] = Counter()
        self._since = time.monotonic()

    def note(self, reason: str, bot: str, source: str) -> None:
        REJECTED.labels(reason=reason).inc()
        with self._lock:
            self._counts[reason] += 1
            detailed = self._counts[reason] <= DETAILED
        if detailed:
            logger.info("proxy_rejected reason=%s bot=%s source=%s", reason, bot, source)
        self.flush()

    def flush(self, *, force: bool = False) -> None:
        """Write the summary line of each flooded reason once the interval is over."""
        now = time.monotonic()
        if not force and now - self._since < INTERVAL:
            return
        with self._lock:
            counts, seconds = self._counts, now - self._since
            self.reset()
        for reason, count in sorted(counts.items()):
            if count > DETAILED:
                logger.warning(
                    "proxy_rejected_summary reason=%s count=%d not_logged=%d seconds=%.0f",
                    reason,
                    count,
                    count - DETAILED,
                    seconds,
                )


rejects = Rejects()
