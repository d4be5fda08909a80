"""Rate limits shared by every process, kept in the Django cache.

``rate_limit_hit`` counts events per key in fixed windows (sign-ups per address, bad API keys
per address, invitations per tenant...) and says how long to wait once a bound is passed.

``throttle_acquire`` paces calls instead of refusing them. Time is cut into short slots, each
admitting a few calls; a caller takes a place in the current slot with ``cache.add`` (Redis SET
NX, a unique key in the database cache), which is atomic on both backends, unlike ``incr`` on
the database cache. A 429 from Telegram pauses every caller of the bucket.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

from django.core.cache import cache

logger = logging.getLogger(__name__)

# The bucket of bulk Bot API work (maintenance switches, health checks): together under one rate.
TELEGRAM_BULK = "telegram-bulk"
MIN_SLOT = 0.1  # seconds: short slots keep calls evenly spread instead of a burst each second


def throttle_acquire(*, bucket: str, rate: float, cost: int = 1, sleep: Callable[[float], None] = time.sleep) -> float:
    """Block until ``cost`` calls may be made at ``rate`` calls per second; returns seconds waited."""
    slot = max(MIN_SLOT, 1.0 / rate)
    capacity = max(1, math.floor(rate * slot))
    waited = 0.0
    for _ in range(cost):
        while True:
            now = time.time()
            try:
                paused_until = cache.get(f"throttle:{bucket}:pause")
                if paused_until and paused_until > now:
                    delay = paused_until - now
                elif any(cache.add(f"throttle:{bucket}:{int(now / slot)}:{i}", 1, timeout=5) for i in range(capacity)):
                    break
                else:
                    delay = (int(now / slot) + 1) * slot - now
            except Exception as exc:  # the cache is down: still never faster than the rate, in this process
                logger.warning("throttle_cache_unavailable bucket=%s error=%s", bucket, type(exc).__name__)
                sleep(1.0 / rate)
                waited += 1.0 / rate
                break
            sleep(delay)
            waited += delay
    return waited


def throttle_pause(*, bucket: str, seconds: float) -> None:
    """Stop every caller of the bucket for ``seconds`` (Telegram's retry_after)."""
    until = time.time() + seconds
    try:
        current = cache.get(f"throttle:{bucket}:pause")
        if not current or current < until:
            cache.set(f"throttle:{bucket}:pause", until, timeout=math.ceil(seconds) + 1)
    except Exception as exc:  # the caller waits anyway; only the other workers are not told
        logger.warning("throttle_cache_unavailable bucket=%s error=%s", bucket, type(exc).__name__)


def _window_key(bucket: str, key: str, window: int, now: float) -> tuple[str, int]:
    slot = int(now // window)
    # Hashed: keys hold addresses and emails, which need not sit in the cache in clear.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"ratelimit:{bucket}:{digest}:{slot}", slot


def rate_limit_hit(*, bucket: str, key: str, limit: int, window: int, count: bool = True) -> int | None:
    """Count one event for ``key`` in the current window of ``window`` seconds.

    Returns the seconds until the window ends once more than ``limit`` events were counted in
    it (this one included), else None. ``count=False`` only looks. With the cache down the limit
    is not enforced: refusing every sign-up or API call would be worse than a short gap.
    Redis counts atomically; the database cache may undercount a little under contention.
    """
    now = time.time()
    cache_key, slot = _window_key(bucket, key, window, now)
    try:
        if count:
            cache.add(cache_key, 0, timeout=window + 1)
            try:
                seen = cache.incr(cache_key)
            except ValueError:  # the window's key expired between add and incr
                cache.set(cache_key, 1, timeout=window + 1)
                seen = 1
        else:
            seen = int(cache.get(cache_key) or 0)
    except Exception as exc:
        logger.warning("rate_limit_cache_unavailable bucket=%s error=%s", bucket, type(exc).__name__)
        return None
    if seen > limit or (not count and seen >= limit):
        return max(1, math.ceil((slot + 1) * window - now))
    return None
