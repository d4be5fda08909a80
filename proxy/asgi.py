"""The proxy role's entry point (granian, ASGI): slow clients cost a coroutine, never a thread.

The server reads headers asynchronously (with its own header timeout); this adapter
reads the whole body asynchronously too, within PROXY_BODY_TIMEOUT and the size
limit, so only a complete update ever reaches a thread. Then one pooled thread runs
the forward (proxy.forwarding, synchronous: it waits on the owner's endpoint), the
answer is sent, and the after-response work (the analytics record, failure
bookkeeping: in-memory queues the process's threads empty) runs once it is out.

A client that goes away mid-body gets nothing and nothing is forwarded; one that
is too slow gets 408; both are non-2xx, so Telegram retries the update.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from proxy.forwarding import Answer, update_forward  # noqa: E402
from proxy.rejects import rejects  # noqa: E402
from proxy.runtime import proxy_start, proxy_started  # noqa: E402
from proxy.upstream import TOO_LARGE  # noqa: E402
from proxy.wsgi import PREFIX  # noqa: E402

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Threads wait on owners' endpoints (up to PROXY_READ_TIMEOUT each): many per process.
pool = ThreadPoolExecutor(max_workers=settings.PROXY_THREADS, thread_name_prefix="proxy")


class BodyRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyRefused(0, "truncated")  # gone mid-body: there is nobody to answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyRefused(413, TOO_LARGE)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _meta(scope: Scope) -> dict[str, str]:
    """The request's headers as the CGI-style names the forward reads."""
    meta = {"REQUEST_METHOD": scope["method"], "REMOTE_ADDR": (scope.get("client") or ("", 0))[0]}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        value = raw_value.decode("latin1")
        meta[key] = f"{meta[key]},{value}" if key in meta else value
    return meta


def _forward(meta: dict[str, str], path: str, body: bytes | None, refusal: str | None) -> Answer:
    """On a pooled thread: the forward waits on the owner's endpoint."""
    if not proxy_started():
        proxy_start()  # once per process: routes, the analytics recorder, the side-work outbox
    return update_forward(meta, path, body, refusal)


async def _send(send: Send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    encoded = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": encoded})
    await send({"type": "http.response.body", "body": body})


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()  # startup: the routes load with the first update, so a database outage cannot stop it
        await send({"type": "lifespan.startup.complete"})
        await receive()  # shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    meta = _meta(scope)
    if not scope["path"].startswith(PREFIX):
        rejects.note("path", "-", meta["REMOTE_ADDR"])  # this role serves Telegram's updates only
        await _send(send, 404, [], b"")
        return
    body: bytes | None = None
    refusal: str | None = None
    try:
        async with asyncio.timeout(settings.PROXY_BODY_TIMEOUT):  # no extra task, unlike wait_for
            body = await _read_body(receive, settings.PROXY_MAX_BODY_BYTES)
    except BodyRefused as refused:
        if refused.status == 0:  # gone mid-body: nobody to answer, nothing forwarded
            rejects.note(refused.reason, "-", meta["REMOTE_ADDR"])
            return
        refusal = refused.reason
    except TimeoutError:
        rejects.note("slow_body", "-", meta["REMOTE_ADDR"])
        await _send(send, 408, [("Retry-After", str(settings.PROXY_RETRY_AFTER))], b"")
        return
    loop = asyncio.get_running_loop()
    path = scope["path"][len(PREFIX) :]
    answer = await loop.run_in_executor(pool, _forward, meta, path, body, refusal)
    try:
        await _send(send, answer.status, answer.headers, answer.body)
    finally:
        if answer.after is not None:
            # Pure Python, no I/O (records and side work are queued for the process's threads): here, not a thread hop.
            answer.after()
