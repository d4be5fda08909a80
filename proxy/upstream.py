"""The forward itself: one pooled, kept-alive HTTP session per process, and what its answer means.

Redirects are not followed (Telegram does not follow them either), nothing is
retried but a kept-alive connection the endpoint closed before answering (the
same request on a fresh connection), and every failure becomes a status that
makes Telegram keep the update and try again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import NameResolutionError, ProtocolError, ReadTimeoutError

from proxy.routes import Route

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# What went wrong, as recorded and logged.
CONNECT, DNS, TLS, TIMEOUT, REDIRECT, HTTP_STATUS, GONE, OVERLOAD, TOO_LARGE = (
    "connect",
    "dns",
    "tls",
    "timeout",
    "redirect",
    "http_status",
    "gone",
    "overload",
    "too_large",
)


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

    @property
    def failed(self) -> bool:
        return self.error is not None


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy or netrc lookups per request
    session.headers = CaseInsensitiveDict({"User-Agent": "BotPresto", "Accept-Encoding": "identity"})
    # Many bots share a host (one app serving several bots): keep plenty of connections per host.
    adapter = HTTPAdapter(pool_connections=256, pool_maxsize=256, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


session = _session()


def _retry_after() -> str:
    return str(settings.PROXY_RETRY_AFTER)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (requests wraps urllib3's errors in args and reasons)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 10:
        current = todo.pop()
        seen.append(current)
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        if current.__cause__ is not None:
            todo.append(current.__cause__)
    return seen


def _failure_kind(exc: requests.RequestException) -> str:
    chain = _chain(exc)
    if isinstance(exc, requests.Timeout) or any(isinstance(e, ReadTimeoutError | TimeoutError) for e in chain):
        return TIMEOUT
    if isinstance(exc, requests.exceptions.SSLError):
        return TLS
    if any(isinstance(e, NameResolutionError) for e in chain):
        return DNS
    return CONNECT


def _closed_before_answer(exc: requests.RequestException) -> bool:
    """A kept-alive connection the endpoint had closed: nothing was answered, a fresh one may work."""
    return isinstance(exc, requests.ConnectionError) and any(isinstance(e, ProtocolError) for e in _chain(exc))


def forward(route: Route, body: bytes, content_type: str | None) -> Outcome:
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if route.endpoint_secret:
        headers[SECRET_HEADER] = route.endpoint_secret
    timeout = (settings.PROXY_CONNECT_TIMEOUT, settings.PROXY_READ_TIMEOUT)
    started = time.perf_counter()
    response = None
    for attempt in (1, 2):
        try:
            response = session.post(
                route.upstream_url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                verify=route.verify,
            )
            break
        except requests.RequestException as exc:
            if attempt == 1 and _closed_before_answer(exc) and time.perf_counter() - started < 1.0:
                continue
            kind = _failure_kind(exc)
            return Outcome(
                status=504 if kind == TIMEOUT else 502,
                retry_after=_retry_after(),
                error=kind,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
    assert response is not None
    latency_ms = (time.perf_counter() - started) * 1000
    status = response.status_code
    if 200 <= status <= 299:
        return Outcome(
            status=status,
            body=response.content,
            content_type=response.headers.get("Content-Type"),
            upstream_status=status,
            latency_ms=latency_ms,
        )
    endpoint_retry_after = response.headers.get("Retry-After")
    if status == 429 and endpoint_retry_after:
        # The endpoint asks Telegram to slow down itself: pass it on as it is.
        return Outcome(
            status=429,
            body=response.content,
            content_type=response.headers.get("Content-Type"),
            retry_after=endpoint_retry_after,
            upstream_status=status,
            error=HTTP_STATUS,
            latency_ms=latency_ms,
        )
    # 3xx, 410 (Telegram drops a webhook after a day of them) and every other non-2xx: a 502 to retry.
    kind = REDIRECT if 300 <= status <= 399 else GONE if status == 410 else HTTP_STATUS
    return Outcome(status=502, retry_after=_retry_after(), upstream_status=status, error=kind, latency_ms=latency_ms)
