"""The proxy as a plain WSGI app, for the web role's /proxy/ path (gunicorn, runserver).

Telegram's POSTs need no Django request, session, CSRF, auth or security headers;
the proxy role (proxy.asgi) serves them in production. ``close()``, which the
server calls once the answer is written, runs the after-response work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from proxy.forwarding import Answer, body_read, update_forward
from proxy.runtime import proxy_start, proxy_started

PREFIX = "/proxy/"


class _Body:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def __iter__(self) -> Iterator[bytes]:
        yield self.answer.body

    def close(self) -> None:
        if self.answer.after is not None:
            self.answer.after()


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> _Body:
    if not proxy_started():
        proxy_start()  # once per process: routes, the analytics recorder, the side-work outbox
    body: bytes | None = b""
    refusal: str | None = None
    if environ.get("REQUEST_METHOD") == "POST":  # nothing else is forwarded, and a GET has no body to wait for
        body, refusal = body_read(environ["wsgi.input"], environ.get("CONTENT_LENGTH"))
    answer = update_forward(environ, environ.get("PATH_INFO", "")[len(PREFIX) :], body, refusal)
    start_response(_status_line(answer.status), [*answer.headers, ("Content-Length", str(len(answer.body)))])
    return _Body(answer)
