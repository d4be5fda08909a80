"""A local stand-in for Mixpanel's ingestion API, for tests, benchmarks and offline work.

It decodes what the official library posts (a form field ``data`` holding a
JSON array or object) on /track, /engage and /import, keeps it, and answers
like Mixpanel with ``verbose=1``. It can also be told to fail: answer 503,
refuse (status 0), or hang.

    python -m botpresto.devtools.collector --port 8090   # then MIXPANEL_API_URL=http://127.0.0.1:8090

GET /summary answers how many events and profiles arrived.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ENDPOINTS = {"/track": "events", "/import": "events", "/engage": "profiles"}


class MixpanelCollector:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, keep: bool = True, verbose: bool = False) -> None:
        self.keep = keep
        self.verbose = verbose
        self.mode = "ok"  # "ok", "down" (503), "refuse" (status 0), "hang"
        self.hang_seconds = 1.0
        self.events: list[dict[str, Any]] = []
        self.profiles: list[dict[str, Any]] = []
        self.requests: list[tuple[str, int]] = []  # (path, items) of every accepted post
        self.posts = 0  # every post that arrived, accepted or not
        self.counts = {"events": 0, "profiles": 0}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MixpanelCollector:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="mixpanel-collector", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MixpanelCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def received(self, path: str, items: list[dict[str, Any]]) -> None:
        kind = ENDPOINTS[path]
        with self._lock:
            self.requests.append((path, len(items)))
            self.counts[kind] += len(items)
            if self.keep:
                getattr(self, kind).extend(items)
        if self.verbose:  # counts only: items carry the project token
            print(f"collector {path} items={len(items)}", flush=True)

    def all_text(self) -> str:
        """Everything received, as one string (to search it)."""
        with self._lock:
            return json.dumps([self.events, self.profiles])


def _handler(collector: MixpanelCollector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as with Mixpanel
        disable_nagle_algorithm = True  # headers and body go in two writes: don't wait for a delayed ACK

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != "/summary":
                return self._answer(404, b'{"error":"not found"}')
            with collector._lock:
                body = json.dumps({**collector.counts, "requests": len(collector.requests)}).encode()
            self._answer(200, body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            with collector._lock:
                collector.posts += 1
            if collector.mode == "hang":
                time.sleep(collector.hang_seconds)
            if collector.mode == "down":
                return self._answer(503, b"<html>Service Unavailable</html>", "text/html")
            if path not in ENDPOINTS:
                return self._answer(404, b'{"status":0,"error":"unknown endpoint"}')
            if collector.mode == "refuse":
                return self._answer(200, b'{"status":0,"error":"token is invalid"}')
            try:
                data = json.loads(parse_qs(raw.decode())["data"][0])
            except (KeyError, ValueError):
                return self._answer(400, b'{"status":0,"error":"data, no data"}')
            collector.received(path, data if isinstance(data, list) else [data])
            self._answer(200, b'{"status":1,"error":null}')

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--count-only", action="store_true", help="count what arrives, keep nothing")
    parser.add_argument("--verbose", action="store_true", help="print a line per request received")
    args = parser.parse_args()
    collector = MixpanelCollector(host=args.host, port=args.port, keep=not args.count_only, verbose=args.verbose)
    print(f"Mixpanel collector at {collector.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        collector._server.serve_forever()


if __name__ == "__main__":
    main()
