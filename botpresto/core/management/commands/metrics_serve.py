"""Serve this host's metrics on an internal address, without a token (hosts that run no web role)."""

from __future__ import annotations

import signal
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.core.management.base import BaseCommand, CommandError
from prometheus_client import CONTENT_TYPE_LATEST

from botpresto.core.metrics import metrics_render


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ.get("PATH_INFO") not in ("/", "/metrics"):
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    body = metrics_render()
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


class Command(BaseCommand):
    help = "Serve GET /metrics on an internal address (default 127.0.0.1:9464); bind it where only Prometheus reaches."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default="127.0.0.1:9464", help="host:port, an internal address")

    def handle(self, *args: Any, bind: str, **options: Any) -> None:
        host, _, port = bind.rpartition(":")
        if not host or not (port.isascii() and port.isdigit()):
            raise CommandError("--bind is host:port, e.g. 10.0.0.5:9464")
        server = make_server(host.strip("[]"), int(port), app, handler_class=_Quiet)
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        self.stdout.write(f"metrics on http://{bind}/metrics")
        server.serve_forever()
