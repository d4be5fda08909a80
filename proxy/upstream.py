"""The forward itself: one pool of kept-alive connections per process, and what the answer means.

urllib3 directly rather than requests: requests adds about a quarter of a
millisecond per call (settings merging, hooks, cookies) and nothing the forward
uses. Redirects are not followed (Telegram does not follow them either),
nothing is retried but a kept-alive connection the endpoint closed before
answering (the same request on a fresh connection), and every failure becomes a
status that makes Telegram keep the update and try again.

Every new connection resolves the endpoint's name again and connects only to an
address the guard allows (botpresto.core.urlguard), verifying TLS against the name:
an endpoint that passed the check when saved cannot be re-pointed at our network
through its DNS (rebinding).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import certifi
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as UrllibTimeout
from urllib3.util import parse_url

from botpresto.core.urlguard import resolve_allowed
from proxy.routes import Route

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Marks our forwards: an endpoint that points back at this service is refused instead of looping.
HOP_HEADER = "X-BotPresto-Hop"

# What went wrong, as recorded and logged.
CONNECT, DNS, TLS, TIMEOUT, REDIRECT, HTTP_STATUS, GONE, OVERLOAD, TOO_LARGE, REFUSED = (
    "connect",
    "dns",
    "tls",
    "timeout",
    "redirect",
    "http_status",
    "gone",
    "overload",
    "too_large",
    "refused",  # the endpoint's name resolved to an address we never connect to
)


class _GuardedConnectionMixin:
    """Connect only to an address the guard allows, resolved now (not when the URL was saved)."""

    host: str
    port: int
    timeout: float | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve_allowed(self.host, self.port)
        except PermissionError as exc:
            raise AddressRefused(self, str(exc)) from None  # type: ignore[arg-type]
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        error: Exception | None = None
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(self.timeout)
                sock.connect((address, self.port))
                return sock
            except TimeoutError as exc:
                sock.close()
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
            except OSError as exc:
                sock.close()
                error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")  # type: ignore[arg-type]


class AddressRefused(NewConnectionError):
    pass


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    """TLS is verified against the endpoint's name, though the socket goes to the vetted address."""


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


@dataclass(slots=True)
class Outcome:
    """What we answer Telegram, and what happened upstream."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    retry_after: str | None = None
    upstream_status: int | None = None
    error: str | None = None
    latency_ms: float = 0.0
    filtered: bool = False  # a type the owner did not ask for: answered 200 here, never forwarded

    @property
    def failed(self) -> bool:
        return self.error is not None


# Many bots share a host (one app serving several bots): plenty of connections per host, many hosts.
manager = urllib3.PoolManager(num_pools=512, maxsize=256, block=False, retries=False)
manager.pool_classes_by_scheme = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}
HEADERS = {"User-Agent": "BotPresto", "Accept-Encoding": "identity", HOP_HEADER: "1"}


@lru_cache(maxsize=65536)
def _target(url: str) -> tuple[str, str, int | None, str]:
    parts = parse_url(url)
    return parts.scheme or "http", parts.host or "", parts.port, parts.request_uri


def _retry_after() -> str:
    return str(settings.PROXY_RETRY_AFTER)


def _failure_kind(exc: Exception) -> str:
    if isinstance(exc, AddressRefused):
        return REFUSED
    if isinstance(exc, NameResolutionError):
        return DNS
    if isinstance(exc, NewConnectionError):  # before timeouts: urllib3 makes it a subclass of one
        return CONNECT
    if isinstance(exc, UrllibTimeout):
        return TIMEOUT
    if isinstance(exc, SSLError):
        return TLS
    return CONNECT


def _send(route: Route, body: bytes, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
    scheme, host, port, uri = _target(route.upstream_url)
    verify = {"ca_certs": route.verify if isinstance(route.verify, str) else certifi.where()}
    pool = manager.connection_from_host(host, port, scheme, pool_kwargs=verify if scheme == "https" else None)
    timeout = urllib3.Timeout(connect=settings.PROXY_CONNECT_TIMEOUT, read=settings.PROXY_READ_TIMEOUT)
    return pool.urlopen(
        "POST", uri, body=body, headers=headers, timeout=timeout, retries=False, redirect=False, assert_same_host=False
    )


def forward(route: Route, body: bytes, content_type: str | None) -> Outcome:
    headers = dict(HEADERS)
    if content_type:
        headers["Content-Type"] = content_type
    if route.endpoint_secret:
        headers[SECRET_HEADER] = route.endpoint_secret
    started = time.perf_counter()
    try:
        try:
            response = _send(route, body, headers)
        except ProtocolError:
            # A kept-alive connection the endpoint had closed: nothing was answered, a fresh one may work.
            if time.perf_counter() - started > 1.0:
                raise
            response = _send(route, body, headers)
    except (HTTPError, OSError, ValueError) as exc:
        kind = _failure_kind(exc)
        return Outcome(
            status=504 if kind == TIMEOUT else 502,
            retry_after=_retry_after(),
            error=kind,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    latency_ms = (time.perf_counter() - started) * 1000
    status = response.status
    if 200 <= status <= 299:
        return Outcome(
            status=status,
            body=response.data,
            content_type=response.headers.get("Content-Type"),
            upstream_status=status,
            latency_ms=latency_ms,
        )
    endpoint_retry_after = response.headers.get("Retry-After")
    if status == 429 and endpoint_retry_after:
        # The endpoint asks Telegram to slow down itself: pass it on as it is.
        return Outcome(
            status=429,
            body=response.data,
            content_type=response.headers.get("Content-Type"),
            retry_after=endpoint_retry_after,
            upstream_status=status,
            error=HTTP_STATUS,
            latency_ms=latency_ms,
        )
    # 3xx, 410 (Telegram drops a webhook after a day of them) and every other non-2xx: a 502 to retry.
    kind = REDIRECT if 300 <= status <= 399 else GONE if status == 410 else HTTP_STATUS
    return Outcome(status=502, retry_after=_retry_after(), upstream_status=status, error=kind, latency_ms=latency_ms)


def guarded_post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, ca_certs: str | None = None
) -> urllib3.BaseHTTPResponse:
    """POST through the same guarded pool as the forward (outgoing alert webhooks): the name is resolved again
    at each new connection and only an allowed address is used; no redirect is followed. Raises urllib3's
    errors (AddressRefused for an address we never connect to)."""
    scheme, host, port, uri = _target(url)
    verify = {"ca_certs": ca_certs or certifi.where()} if scheme == "https" else None
    pool = manager.connection_from_host(host, port, scheme, pool_kwargs=verify)
    return pool.urlopen(
        "POST",
        uri,
        body=body,
        headers={"User-Agent": "BotPresto", **headers},
        timeout=urllib3.Timeout(connect=min(timeout, settings.PROXY_CONNECT_TIMEOUT), read=timeout),
        retries=False,
        redirect=False,
        assert_same_host=False,
    )
