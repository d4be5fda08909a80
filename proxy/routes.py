"""The per-process route table: what the forward needs to know about each bot, kept in memory.

Loaded in full at first use, then a background thread picks up changed bots
about every second (rows whose ``updated_at`` moved) and drops deleted ones
(a version key bumped on delete, plus a full comparison every minute). Secrets
are decrypted once here, never per update. A uuid the table does not know gets
one database lookup at a time per process, and a short negative cache, so
garbage uuids cannot hammer the database.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from botpresto.bots.models import Bot
from botpresto.bots.subscription import subscription_for
from botpresto.core.crypto import DecryptionError
from botpresto.core.metrics import routes_observe
from proxy.rejects import rejects

logger = logging.getLogger(__name__)


class RoutesUnavailable(Exception):
    """The routes could not be read (the database is away): answer 503, never "unknown bot"."""


class RouteUnreadable(Exception):
    """The bot's stored secrets do not decrypt (a missing key, a damaged value): only this bot is off."""


DELETED_KEY = "proxy:routes:deleted"
REFRESH_SECONDS = 1.0
FULL_CHECK_SECONDS = 60.0
NEGATIVE_SECONDS = 5.0
NEGATIVE_MAX = 10_000
# Rows saved just before the last refresh may commit just after it: look back this far.
MARGIN = timedelta(seconds=10)
# How long after users were told the bot is down their successful updates may owe them a "we're back".
BACK_LOOK_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class Route:
    bot_id: int
    uuid: str
    status: str
    tenant_id: int
    upstream_url: str
    proxy_secret: bytes
    endpoint_secret: str | None
    verify: bool | str  # True, or the path of the owner's self-signed certificate
    telegram_id: int | None
    username: str
    notices: bool  # token mode, notices on, a token that still works
    failing: bool  # the endpoint is failing (the owners were alerted): a success ends it
    updated_at: datetime
    # Update types we subscribed the bot to for the analytics, not asked for by its owner: never forwarded.
    unforwarded: frozenset[str] = frozenset()
    back: bool = False  # "we're back" is on (token mode)
    # Users were told the bot was down: until this time (unix) successes are looked at.
    back_until: float = 0.0


class CertificateFiles:
    """The owners' self-signed certificates, written once per process to files TLS can load."""

    def __init__(self) -> None:
        self._dir: str | None = None
        self._paths: dict[str, str] = {}
        self._lock = threading.Lock()

    def path_for(self, pem: str) -> str:
        digest = hashlib.sha256(pem.encode()).hexdigest()
        path = self._paths.get(digest)
        if path is not None:
            return path
        with self._lock:
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="botpresto-certs-")
                atexit.register(shutil.rmtree, self._dir, True)
            path = os.path.join(self._dir, f"{digest}.pem")
            with open(path, "w") as file:
                file.write(pem.strip() + "\n")
            self._paths[digest] = path
        return path


def _bots() -> QuerySet[Bot]:
    return Bot.objects.only(
        "id",
        "uuid",
        "tenant_id",
        "status",
        "mode",
        "upstream_url",
        "proxy_secret",
        "endpoint_secret",
        "certificate",
        "telegram_id",
        "username",
        "notices_enabled",
        "endpoint_failing_since",
        "original_url",
        "original_allowed_updates",
        "back_enabled",
        "users_told_at",
        "updated_at",
    ).annotate(has_token=ExpressionWrapper(Q(token__isnull=False), output_field=BooleanField()))


def deletion_announce() -> None:
    """Tell every process's table that a bot is gone (called after the delete commits)."""

    def bump() -> None:
        try:
            cache.set(DELETED_KEY, time.time_ns(), timeout=None)
        except Exception as exc:  # the minute-long full check catches it anyway
            logger.warning("route_deletion_unannounced error=%s", type(exc).__name__)

    transaction.on_commit(bump)


class RouteTable:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._loaded = False
        self._load_lock = threading.Lock()
        self._miss_lock = threading.Lock()
        self._misses: dict[str, float] = {}
        self._watermark: datetime | None = None
        self._deleted_version: object = None
        self._last_full_check = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.certificates = CertificateFiles()
        self.unreadable: dict[str, str] = {}  # uuid → why its secrets do not decrypt

    # --- lookups (the hot path) -------------------------------------------------
    def cached(self, key: str) -> Route | None:
        """The route if the table has it under exactly this key (no loading, no lookup)."""
        return self._routes.get(key)

    def get(self, key: str) -> Route | None:
        """The route of the bot with this canonical uuid, or None for a bot that does not exist.

        Raises RoutesUnavailable when that cannot be known (the database is away), and
        RouteUnreadable for a bot whose stored secrets do not decrypt.
        """
        route = self._routes.get(key)
        if route is not None:
            return route
        if key in self.unreadable:
            raise RouteUnreadable(key)
        if not self._loaded:
            try:
                self.load()
            except DatabaseError as exc:
                raise RoutesUnavailable from exc
            route = self._routes.get(key)
            if route is not None:
                return route
            if key in self.unreadable:
                raise RouteUnreadable(key)
        return self._lookup_missing(key)

    def _lookup_missing(self, key: str) -> Route | None:
        now = time.monotonic()
        if self._misses.get(key, 0.0) > now:
            return None
        # One lookup at a time per process: a flood of unknown uuids waits here, not on the database.
        if not self._miss_lock.acquire(timeout=1.0):
            raise RoutesUnavailable("lookups are queued")
        try:
            if key in self._routes:
                return self._routes[key]
            if self._misses.get(key, 0.0) > time.monotonic():
                return None
            bot = _bots().filter(uuid=key).first()
            if bot is None:
                if len(self._misses) >= NEGATIVE_MAX:
                    self._misses.clear()
                self._misses[key] = time.monotonic() + NEGATIVE_SECONDS
                return None
            route = self._build_or_skip(bot)
            if route is None:
                raise RouteUnreadable(key)
            self._routes[key] = route
            return route
        except DatabaseError as exc:
            logger.warning("route_lookup_failed error=%s", type(exc).__name__)
            raise RoutesUnavailable from exc
        finally:
            if not connection.in_atomic_block:
                connection.close()  # rare: don't leave a connection per request thread
            self._miss_lock.release()

    # --- loading and refreshing ---------------------------------------------------
    def load(self) -> None:
        with self._load_lock:
            if self._loaded:
                return
            self._deleted_version = self._read_deleted_version()
            bots = list(_bots())
            built = ((str(bot.uuid), self._build_or_skip(bot)) for bot in bots)
            self._routes = {key: route for key, route in built if route is not None}
            self._watermark = max((bot.updated_at for bot in bots), default=None)
            self._last_full_check = time.monotonic()
            self._loaded = True
        routes_observe(size=len(self._routes))
        logger.info("routes_loaded bots=%d unreadable=%d", len(self._routes), len(self.unreadable))

    def refresh(self) -> None:
        """Take in bots changed since the last refresh; drop deleted ones."""
        if not self._loaded:
            self.load()
            return
        version = self._read_deleted_version()
        full = version != self._deleted_version or time.monotonic() - self._last_full_check > FULL_CHECK_SECONDS
        if full:
            rows = list(Bot.objects.values_list("uuid", "updated_at"))
            present = {str(uuid) for uuid, _ in rows}
            for key in [key for key in self._routes if key not in present]:
                self._routes.pop(key, None)
            self._deleted_version = version
            self._last_full_check = time.monotonic()
        else:
            changed = Bot.objects.all()
            if self._watermark is not None:
                changed = changed.filter(updated_at__gte=self._watermark - MARGIN)
            rows = list(changed.values_list("uuid", "updated_at"))
        stale = [str(uuid) for uuid, updated_at in rows if self._is_stale(str(uuid), updated_at)]
        if stale:
            for bot in _bots().filter(uuid__in=stale):
                key = str(bot.uuid)
                route = self._build_or_skip(bot)
                if route is None:
                    self._routes.pop(key, None)
                else:
                    self._routes[key] = route
                self._misses.pop(key, None)
        newest = max((updated_at for _, updated_at in rows), default=None)
        if newest is not None and (self._watermark is None or newest > self._watermark):
            self._watermark = newest
        routes_observe(size=len(self._routes))

    def _is_stale(self, key: str, updated_at: datetime) -> bool:
        route = self._routes.get(key)
        return route is None or route.updated_at != updated_at

    def _read_deleted_version(self) -> object:
        try:
            return cache.get(DELETED_KEY)
        except Exception:  # the cache is down: rely on the periodic full check
            return self._deleted_version

    def _build_or_skip(self, bot: Bot) -> Route | None:
        """The bot's route; None (logged once) when its secrets do not decrypt, so the others keep forwarding."""
        key = str(bot.uuid)
        try:
            route = self._build(bot)
        except DecryptionError as exc:
            if self.unreadable.get(key) != str(exc):
                logger.error("route_unreadable bot=%s reason=%s", key, exc)
            self.unreadable[key] = str(exc)
            return None
        self.unreadable.pop(key, None)
        return route

    def _build(self, bot: Bot) -> Route:
        has_token = bool(getattr(bot, "has_token", bot.token is not None))
        return Route(
            bot_id=bot.id,
            uuid=str(bot.uuid),
            status=bot.status,
            tenant_id=bot.tenant_id,
            upstream_url=str(bot.upstream_url),
            proxy_secret=str(bot.proxy_secret).encode(),
            endpoint_secret=str(bot.endpoint_secret) if bot.endpoint_secret else None,
            verify=self.certificates.path_for(bot.certificate) if bot.certificate.strip() else True,
            telegram_id=bot.telegram_id,
            username=bot.username,
            notices=(
                bot.is_token_mode and bot.notices_enabled and has_token and bot.status != Bot.Status.TOKEN_REVOKED
            ),
            failing=bot.endpoint_failing_since is not None,
            updated_at=bot.updated_at,
            back=bot.back_enabled and bot.is_token_mode,
            back_until=bot.users_told_at.timestamp() + BACK_LOOK_SECONDS if bot.users_told_at else 0.0,
            unforwarded=(
                subscription_for(original_url=str(bot.original_url), original=bot.original_allowed_updates).unforwarded
                if bot.is_token_mode
                else frozenset()
            ),
        )

    # --- the background refresher -------------------------------------------------
    def start(self) -> None:
        """Load now and keep the table fresh from a background thread (once per process)."""
        if self._thread is not None and self._thread.is_alive():
            return
        try:
            self.load()
        except DatabaseError as exc:  # the refresher retries
            logger.warning("routes_load_failed error=%s", type(exc).__name__)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="proxy-routes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def refreshing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        last_error = 0.0
        try:
            while not self._stop.wait(REFRESH_SECONDS):
                rejects.flush()  # the periodic thread of the process: summaries go out even when a flood stops
                try:
                    close_old_connections()
                    self.refresh()
                except Exception as exc:  # a database hiccup must not end the refresher
                    if time.monotonic() - last_error > 30:
                        last_error = time.monotonic()
                        logger.warning("routes_refresh_failed error=%s", type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def reset(self) -> None:
        """Forget everything (tests, and after a fork)."""
        self.stop()
        self.unreadable = {}
        self._routes = {}
        self._misses = {}
        self._loaded = False
        self._watermark = None
        self._deleted_version = None


table = RouteTable()
