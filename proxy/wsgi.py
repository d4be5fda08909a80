"""Django without middleware, for the proxy's path.

Telegram's POSTs need no session, CSRF, auth, messages or security headers,
and skipping that stack saves about a tenth of a millisecond per update.
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler

PREFIX = "/proxy/"


class BareHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        self._middleware_chain = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
