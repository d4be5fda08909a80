"""The proxy's per-process background threads, started with the server that runs the proxy.

Routes refresh every second, analytics records are written in batches, side work
(failure bookkeeping, queueing notices) runs off the request threads. The web
server's entry point (config.wsgi) starts them before the first update is served.
"""

from __future__ import annotations

import atexit

from botpresto.core.metrics import process_dead
from proxy.outbox import outbox
from proxy.recorder import recorder
from proxy.routes import table


def proxy_start() -> None:
    """Start this process's threads (idempotent)."""
    if not table.refreshing:
        atexit.register(process_dead)  # its route-table gauges stop counting with it
    table.start()
    recorder.start()
    outbox.start()


def proxy_started() -> bool:
    return table.refreshing
