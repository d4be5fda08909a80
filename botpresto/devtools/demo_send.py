"""Send a message to the demo bot as a Telegram user would, and show what happened.

.venv/bin/python -m botpresto.devtools.demo_send "hello"
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from typing import Any

STANDIN = f"http://127.0.0.1:{os.environ.get('DEMO_STANDIN_PORT', '8081')}"
TOKEN = os.environ.get("DEMO_BOT_TOKEN", "5550001234:AAdemo-local-only-token-0000000000")


def control(name: str, **kwargs: object) -> Any:
    # The stand-in's own http:// control URL on loopback.
    request = urllib.request.Request(  # noqa: S310
        f"{STANDIN}/_standin/{name}", json.dumps(kwargs).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())["result"]


def main() -> None:
    text = " ".join(sys.argv[1:]) or "/start"
    user = {"id": 4242, "is_bot": False, "first_name": "Demo", "username": "demo_user", "language_code": "en"}
    update = {
        "message": {
            "message_id": int(time.time()),
            "date": int(time.time()),
            "from": user,
            "chat": {"id": 4242, "type": "private", "first_name": "Demo"},
            "text": text,
        }
    }
    update_id = control("push_update", token=TOKEN, update=update)
    print(f"Telegram (stand-in) queued update {update_id}: {text!r}")
    for _ in range(50):
        attempts = [a for a in control("delivery_log", token=TOKEN) if a["update_id"] == update_id]
        if attempts and attempts[-1]["status"] is not None and 200 <= attempts[-1]["status"] < 300:
            break
        time.sleep(0.2)
    for attempt in attempts:
        print(f"  delivered to {attempt['url']}: {attempt['status'] or attempt['error']}")
    replies = control("calls", token=TOKEN, method="sendMessage")
    if replies:
        print(f"  the bot answered: {replies[-1]['params'].get('text')!r}")


if __name__ == "__main__":
    main()
