"""Cheap checks in front of the forward: the secret, the source address, the per-bot cap."""

from __future__ import annotations

import hmac
import ipaddress
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings


def secret_matches(given: str | None, expected: bytes) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected)


@lru_cache(maxsize=8)
def _networks(ranges: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in ranges)


def source_address(meta: Mapping[str, Any]) -> str:
    """The client's address: the trusted load balancer's header when configured, else the socket's peer."""
    header = settings.PROXY_FORWARDED_FOR_HEADER
    if header:
        value = str(meta.get("HTTP_" + header.upper().replace("-", "_"), ""))
        # The load balancer appends the address it saw: the last entry is the one to trust.
        last = value.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return str(meta.get("REMOTE_ADDR", ""))


def source_allowed(address: str) -> bool:
    if not settings.PROXY_TELEGRAM_SOURCE_CHECK:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.PROXY_TELEGRAM_SOURCE_RANGES)))


class InFlight:
    """Forwards in flight per bot in this process, capped, never waiting on the lock holder for long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._counts: dict[int, int] = {}

    def enter(self, bot_id: int) -> bool:
        with self._lock:
            count = self._counts.get(bot_id, 0)
            if count >= settings.PROXY_MAX_IN_FLIGHT_PER_BOT:
                return False
            self._counts[bot_id] = count + 1
            return True

    def leave(self, bot_id: int) -> None:
        with self._lock:
            count = self._counts.get(bot_id, 0) - 1
            if count > 0:
                self._counts[bot_id] = count
            else:
                self._counts.pop(bot_id, None)

    def count(self, bot_id: int) -> int:
        return self._counts.get(bot_id, 0)


in_flight = InFlight()


class TenantRate:
    """Updates per tenant per second in this process: one tenant's flood cannot take every thread.

    A fixed one-second window per tenant; cheap enough for the hot path (a dict and a lock).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._windows: dict[int, tuple[int, int]] = {}  # tenant → (second, count)

    def allow(self, tenant_id: int, now: float) -> bool:
        second = int(now)
        with self._lock:
            start, count = self._windows.get(tenant_id, (second, 0))
            if start != second:
                start, count = second, 0
                if len(self._windows) > 100_000:
                    self._windows.clear()
            if count >= settings.PROXY_TENANT_REQUESTS_PER_SECOND:
                return False
            self._windows[tenant_id] = (start, count + 1)
            return True


tenant_rate = TenantRate()
