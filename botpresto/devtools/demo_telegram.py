"""The offline demo's Telegram side: the Bot API stand-in and a sample bot endpoint.

The sample bot's webhook points at the sample endpoint, which answers every
text message with a webhook reply (a sendMessage carried in its 200 answer),
as many real bots do. Connect the bot to BotPresto and the same conversation
flows through the proxy.

The stand-in keeps its state in var/standin.json (DEMO_STANDIN_STATE): a restarted
`make demo` finds the webhook BotPresto set, in step with BotPresto's database.
Delete that file and db.sqlite3 together to start the demo clean.

To try an outage, switch the sample endpoint down (it answers 503 to every update)
and up again: ``demo_send --endpoint down`` / ``--endpoint up``, or
``curl -X POST http://127.0.0.1:8082/_demo/down`` (``/_demo/up``).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from botpresto.devtools.standin import StandIn

DEMO_TOKEN = os.environ.get("DEMO_BOT_TOKEN", "5550001234:AAdemo-local-only-token-0000000000")
ENDPOINT_SECRET = "demo-endpoint-secret"
STANDIN_PORT = int(os.environ.get("DEMO_STANDIN_PORT", "8081"))
ENDPOINT_PORT = int(os.environ.get("DEMO_ENDPOINT_PORT", "8082"))
STATE_FILE = Path(os.environ.get("DEMO_STANDIN_STATE") or Path(__file__).resolve().parents[2] / "var" / "standin.json")


class EchoBot(BaseHTTPRequestHandler):
    down = threading.Event()  # set: the endpoint is "down" and answers every update 503

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/_demo/"):
            self._switch(self.path.removeprefix("/_demo/"))
            return
        if self.down.is_set():
            self._answer(503, b"The sample endpoint is down (switched off for the demo).", "text/plain")
            return
        if self.headers.get("X-Telegram-Bot-Api-Secret-Token") != ENDPOINT_SECRET:
            self.send_response(403)
            self.end_headers()
            return
        update = json.loads(body or b"{}")
        message = update.get("message") or {}
        reply = b""
        if "text" in message:
            reply = json.dumps(
                {"method": "sendMessage", "chat_id": message["chat"]["id"], "text": f"Echo: {message['text']}"}
            ).encode()
        self._answer(200, reply, "application/json")

    def _switch(self, state: str) -> None:
        if state not in ("down", "up"):
            self._answer(404, b"POST /_demo/down or /_demo/up", "text/plain")
            return
        if state == "down":
            self.down.set()
        else:
            self.down.clear()
        print(f"sample endpoint: now {state}", flush=True)
        self._answer(200, json.dumps({"endpoint": state}).encode(), "application/json")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"sample endpoint: {format % args}", flush=True)


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt  # honcho stops its processes with SIGTERM: save the state on the way out


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    endpoint = ThreadingHTTPServer(("127.0.0.1", ENDPOINT_PORT), EchoBot)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    standin = StandIn(
        "127.0.0.1", STANDIN_PORT, retry_base_delay=2.0, retry_max_delay=30.0, state_file=STATE_FILE
    ).start()
    if DEMO_TOKEN not in {bot.token for bot in standin.bots()}:  # else kept from the last run, webhook and all
        standin.add_bot(
            DEMO_TOKEN,
            username="presto_demo_bot",
            first_name="Presto Demo",
            webhook_url=f"http://127.0.0.1:{ENDPOINT_PORT}/hook",
            secret_token=ENDPOINT_SECRET,
        )
        standin.save()
    print(f"Telegram stand-in on {standin.url}; sample endpoint on http://127.0.0.1:{ENDPOINT_PORT}/hook", flush=True)
    print(f"switch the sample endpoint down and up: POST http://127.0.0.1:{ENDPOINT_PORT}/_demo/down (/up)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
        endpoint.shutdown()


if __name__ == "__main__":
    main()
