"""What the owner's bot page charts: bot_stats turned into server-side SVG."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from analytics.charts import bar_list, line_chart, stacked_columns
from analytics.delivery_selectors import deliveries_hour_url
from analytics.selectors import PERIODS, bot_campaigns, bot_stats
from botpresto.bots.models import Bot

MAX_TYPES = 6  # more kinds than this are folded into "other" so the legend stays readable


def _log_links(*, bot: Bot, series: list[dict[str, Any]], hours: int, failed: bool = False) -> list[str | None]:
    """Each point's link to the delivery log of its period; none where the log has nothing (kept days, no attempt)."""
    if not settings.DELIVERY_LOG_ENABLED:
        return []
    kept_since = timezone.now() - timedelta(days=settings.DELIVERY_LOG_DAYS)
    return [
        deliveries_hour_url(bot=bot, start=p["start"], hours=hours, failed=failed)
        if p["attempts"] and (p["failures"] or not failed) and p["start"] + timedelta(hours=hours) > kept_since
        else None
        for p in series
    ]


def bot_charts(*, bot: Bot, period: str) -> dict[str, Any]:
    period = period if period in PERIODS else "24h"
    stats = bot_stats(bot=bot, period=period)
    series = stats["series"]
    hourly = stats["step"] == "hour"
    labels = [
        p["start"].strftime("%H:00" if hourly and period == "24h" else "%m-%d %H:00" if hourly else "%m-%d")
        for p in series
    ]
    totals = stats["totals"]
    kinds = [k for k, _ in sorted(totals["updates_by_type"].items(), key=lambda kv: -kv[1])]
    shown, folded = kinds[:MAX_TYPES], set(kinds[MAX_TYPES:])
    by_type: dict[str, Sequence[float]] = {kind: [p["updates_by_type"].get(kind, 0) for p in series] for kind in shown}
    if folded:
        by_type["other"] = [sum(n for k, n in p["updates_by_type"].items() if k in folded) for p in series]
    step = "hour" if hourly else "day"
    links = _log_links(bot=bot, series=series, hours=1 if hourly else 24)
    failed_links = _log_links(bot=bot, series=series, hours=1 if hourly else 24, failed=True)
    return {
        "period": period,
        "periods": list(PERIODS),
        "totals": totals,
        "failure_rate": totals["failures"] / totals["attempts"] if totals["attempts"] else 0.0,
        "updates": stacked_columns(f"Updates per {step} by type", labels, by_type, links=links),
        "users": line_chart(
            f"Users per {step}",
            labels,
            {"users": [p["users"] for p in series], "new users": [p["new_users"] for p in series]},
        ),
        "failures": line_chart(
            f"Failure rate per {step}",
            labels,
            {"failed attempts": [100 * p["failures"] / p["attempts"] if p["attempts"] else None for p in series]},
            unit="%",
            links=failed_links,
            links_label="Failed attempts of",
        ),
        "latency": line_chart(
            f"Endpoint latency per {step}",
            labels,
            {"p50": [p["latency_p50_ms"] for p in series], "p95": [p["latency_p95_ms"] for p in series]},
            unit=" ms",
            links=links,
        ),
        "commands": bar_list("Top commands", [(f"/{c['name']}", c["count"]) for c in totals["top_commands"]]),
        "languages": bar_list("Languages", [(c["name"], c["count"]) for c in totals["languages"]]),
        "chat_types": bar_list("Chat types", sorted(totals["chat_types"].items(), key=lambda kv: -kv[1])),
        "blocks": line_chart(
            f"Blocks and unblocks per {step}",
            labels,
            {"blocked": [p["blocks"] for p in series], "unblocked": [p["unblocks"] for p in series]},
        ),
        "audience": stats["audience"],
        "retention": stats["retention"][:14],
        "campaigns": bot_campaigns(bot=bot, period="30d")["campaigns"],
    }
