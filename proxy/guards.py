"""Cheap checks in front of the forward: the secret, the source address, the per-bot cap."""

from __future__ import annotations

import hmac
import ipaddress
import threading
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


def secret_matches(given: str | None, expected: bytes) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected)


@lru_cache(maxsize=8)
def _networks(ranges: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in ranges)


def source_address(request: HttpRequest) -> str:
    """The client's address: the trusted load balancer's header when configured, else the socket's peer."""
    header = settings.PROXY_FORWARDED_FOR_HEADER
    if header:
        value = request.headers.get(header, "")
        # The load balancer appends the address it saw: the last entry is the one to trust.
        last = value.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))


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
