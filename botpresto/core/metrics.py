"""Metrics for operators, in Prometheus's format, added up over every process of a host.

The web, proxy and worker processes each write their counters to files in METRICS_DIR
(prometheus-client's multiprocess mode: a memory-mapped file per process, no lock
shared between processes, a few microseconds per increment); a scrape reads and adds
them (``metrics_render``). What lives outside the processes (the analytics buffer,
Mixpanel's outbox, the maintenance jobs, alerts waiting) is read from Redis and the
database when scraped, by the scraping process alone.

On the proxy's hot path nothing is recorded: forwards are counted in ``proxy.after``,
once the answer is written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# Latency of the owner's endpoint, seconds: the proxy answers within PROXY_READ_TIMEOUT (at most 50 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0)

FORWARDS = Counter(
    "botpresto_proxy_forwards",
    "Updates the proxy answered, by outcome: delivered, filtered (a type only the analytics asked for), "
    "or what went wrong (connect, dns, tls, timeout, http_status, redirect, gone, overload, too_large, refused)",
    ["outcome"],
)
FORWARD_SECONDS = Histogram(
    "botpresto_proxy_forward_seconds", "Time the owner's endpoint took to answer a forward", buckets=LATENCY_BUCKETS
)
REJECTED = Counter("botpresto_proxy_rejected", "Requests the proxy refused before forwarding, by reason", ["reason"])
SIDE_WORK_DROPPED = Counter(
    "botpresto_proxy_side_work_dropped", "After-answer work a proxy process dropped (queue full, Redis away)"
)
_route_gauges: tuple[Gauge, Gauge] | None = None
NOTICES = Counter("botpresto_notices", "Messages to a bot's users, by kind (down, back) and result", ["kind", "result"])
ALERTS = Counter("botpresto_alerts_sent", "Owner alerts delivered, by channel (email, telegram, webhook)", ["channel"])

_forward_outcomes: dict[str, Any] = {}
# METRICS_ENABLED=false (no METRICS_DIR): the proxy counts nothing; make bench measures the cost against that.
_FORWARDS_ON = bool(settings.METRICS_DIR)


def forward_observe(*, outcome: str, seconds: float | None) -> None:
    """One answered update (after the answer is written)."""
    if not _FORWARDS_ON:
        return
    child = _forward_outcomes.get(outcome)
    if child is None:
        child = _forward_outcomes[outcome] = FORWARDS.labels(outcome=outcome)
    child.inc()
    if seconds is not None:
        FORWARD_SECONDS.observe(seconds)


def routes_observe(*, size: int) -> None:
    """A proxy process (re)loaded its route table.

    The gauges are made here, by the processes that have a route table: made at import, every
    process (a worker, beat) would report an empty table refreshed never, and the minimum
    over live processes would be that.
    """
    global _route_gauges
    if _route_gauges is None:
        _route_gauges = (
            Gauge("botpresto_proxy_routes", "Bots in a proxy process's route table", multiprocess_mode="livemax"),
            Gauge(
                "botpresto_proxy_routes_refreshed_timestamp_seconds",
                "When the stalest live proxy process last refreshed its route table (age: time() minus this)",
                multiprocess_mode="livemin",
            ),
        )
    routes, refreshed = _route_gauges
    routes.set(size)
    refreshed.set(time.time())


def process_dead(pid: int | None = None) -> None:
    """A process stops: its live gauges no longer count (gunicorn's child_exit, Celery's shutdown, exit)."""
    if settings.METRICS_DIR:
        multiprocess.mark_process_dead(pid or os.getpid(), settings.METRICS_DIR)


class StateCollector(Collector):
    """What no process holds: read when scraped. A source that cannot be read is left out and said so."""

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("botpresto_metrics_source_up", "Whether a source could be read", labels=["source"])
        for source, read in (
            ("analytics_buffer", _buffer),
            ("database", _database),
        ):
            try:
                yield from read()
            except Exception as exc:  # Redis or the database away: the rest of the scrape still works
                logger.warning("metrics_source_failed source=%s error=%s", source, type(exc).__name__)
                up.add_metric([source], 0)
            else:
                up.add_metric([source], 1)
        yield up


def _buffer() -> Iterator[Any]:
    from analytics import buffer

    yield GaugeMetricFamily(
        "botpresto_analytics_buffer_depth", "Update records waiting for the drain", value=buffer.buffer_length()
    )
    yield CounterMetricFamily(
        "botpresto_analytics_buffer_lost", "Update records lost because the buffer was away", value=buffer.lost_count()
    )


def _database() -> Iterator[Any]:
    from django.db.models import Count, Sum

    from analytics.models import MixpanelPending, PipelineCounter
    from botpresto.bots.models import MaintenanceSwitch, MaintenanceWindow
    from botpresto.notifications.models import OwnerAlert

    waiting = MixpanelPending.objects.aggregate(items=Sum("count"))["items"] or 0
    yield GaugeMetricFamily(
        "botpresto_mixpanel_outbox_items", "Events and profiles waiting for Mixpanel", value=waiting
    )
    counters = dict(PipelineCounter.objects.values_list("name", "value"))
    yield CounterMetricFamily(
        "botpresto_mixpanel_dropped",
        "Events and profiles Mixpanel never got",
        value=counters.get(PipelineCounter.MIXPANEL_DROPPED, 0),
    )
    unsent = OwnerAlert.objects.filter(sent_at__isnull=True).count()
    yield GaugeMetricFamily("botpresto_alerts_unsent", "Owner alerts not sent yet", value=unsent)
    switches = GaugeMetricFamily(
        "botpresto_maintenance_bots",
        "Bots of the open maintenance window's jobs, by direction and state",
        labels=["direction", "state"],
    )
    rows = (
        MaintenanceSwitch.objects.filter(window__state__in=MaintenanceWindow.OPEN)
        .values("direction", "state")
        .annotate(n=Count("id"))
    )
    for row in rows:
        switches.add_metric([row["direction"], row["state"]], row["n"])
    yield switches


def metrics_render() -> bytes:
    """Every process's metrics of this host added up, and the state read now, in the text format."""
    state = CollectorRegistry()
    state.register(StateCollector())
    if not settings.METRICS_DIR:  # no files to add up: this process's own metrics
        return generate_latest(REGISTRY) + generate_latest(state)
    multiprocess.MultiProcessCollector(state, path=settings.METRICS_DIR)
    return generate_latest(state)
