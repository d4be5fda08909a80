"""A bot endpoint for tests: a real HTTP server on 127.0.0.1 that records what it gets."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        endpoint = self.server.endpoint
        with endpoint.lock:
            endpoint.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            reply = endpoint.reply
        if reply.delay:
            endpoint.released.wait(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: Endpoint, port: int) -> None:
        self.endpoint = endpoint
        super().__init__(("127.0.0.1", port), _Handler)


class Endpoint:
    """Answers every POST with ``reply``; ``received`` holds the requests, in order."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.received: list[Received] = []
        self.reply = Reply()
        self.lock = threading.Lock()
        self.released = threading.Event()  # set to end every delay at once
        self._server = _Server(self, port)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)


@contextlib.contextmanager
def endpoint_running(**kwargs: Any) -> Any:
    endpoint = Endpoint(**kwargs)
    try:
        yield endpoint
    finally:
        endpoint.stop()


def closed_port() -> int:
    """A port nothing listens on (bound and released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
