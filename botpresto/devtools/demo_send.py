"""Send a message to the demo bot as a Telegram user would, and show what happened.

.venv/bin/python -m botpresto.devtools.demo_send hello
.venv/bin/python -m botpresto.devtools.demo_send --language de hallo
.venv/bin/python -m botpresto.devtools.demo_send --endpoint down     # the sample endpoint answers 503 from now on
.venv/bin/python -m botpresto.devtools.demo_send --endpoint up       # ... and works again

Only what happened to this very update is shown: where the stand-in delivered it and with what
answer, the bot's reply (a webhook reply) and any message sent with the Bot API meanwhile (our
"the bot is temporarily unavailable" notice, or "the bot is working again").
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from typing import Any

STANDIN = f"http://127.0.0.1:{os.environ.get('DEMO_STANDIN_PORT', '8081')}"
ENDPOINT = f"http://127.0.0.1:{os.environ.get('DEMO_ENDPOINT_PORT', '8082')}"
TOKEN = os.environ.get("DEMO_BOT_TOKEN", "5550001234:AAdemo-local-only-token-0000000000")
CHAT = 4242
WAIT_SECONDS = 8.0  # long enough for a notice (a Celery task) to go out after a failed delivery


def _post(url: str, payload: dict[str, Any]) -> Any:
    # The stand-in's and the sample endpoint's own http:// control URLs on loopback.
    request = urllib.request.Request(  # noqa: S310
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def control(name: str, **kwargs: object) -> Any:
    return _post(f"{STANDIN}/_standin/{name}", kwargs)["result"]


def endpoint_switch(state: str) -> None:
    _post(f"{ENDPOINT}/_demo/{state}", {})
    if state == "down":
        print("The sample endpoint is down: it answers 503 to every update until `--endpoint up`.")
    else:
        print("The sample endpoint is up again: Telegram (the stand-in) redelivers what it held back.")


def messages_to_chat(since: int) -> list[dict[str, Any]]:
    """sendMessage calls to the demo chat after the first ``since`` of them."""
    calls = control("calls", token=TOKEN, method="sendMessage")[since:]
    return [call for call in calls if str(call["params"].get("chat_id")) == str(CHAT)]


def ours(calls: list[dict[str, Any]], attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages that belong to this update.

    The bot's answer is the webhook reply of this update's successful delivery (the stand-in runs
    it just before it records the attempt), not one to an earlier update redelivered meanwhile. A Bot API message to the
    chat is BotPresto's (the sample bot only answers in its webhook reply).
    """
    ok = [a["time"] for a in attempts if a["status"] is not None and 200 <= a["status"] < 300]
    replies = [c for c in calls if c.get("source") == "webhook_reply" and ok and c["time"] <= ok[0]]
    return [c for c in calls if c.get("source") != "webhook_reply"] + replies[-1:]


def describe(call: dict[str, Any]) -> str:
    text = call["params"].get("text")
    if call.get("source") == "webhook_reply":
        return f"  the bot answered: {text!r}"
    return f"  BotPresto told the user (Bot API sendMessage): {text!r}"


def send(text: str, language: str) -> None:
    user = {"id": CHAT, "is_bot": False, "first_name": "Demo", "username": "demo_user", "language_code": language}
    update = {
        "message": {
            "message_id": int(time.time()),
            "date": int(time.time()),
            "from": user,
            "chat": {"id": CHAT, "type": "private", "first_name": "Demo"},
            "text": text,
        }
    }
    seen = len(control("calls", token=TOKEN, method="sendMessage"))
    update_id = control("push_update", token=TOKEN, update=update)
    print(f"Telegram (stand-in) queued update {update_id} from a user writing in {language!r}: {text!r}")
    attempts: list[dict[str, Any]] = []
    delivered = False
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        attempts = [a for a in control("delivery_log", token=TOKEN) if a["update_id"] == update_id]
        delivered = any(a["status"] is not None and 200 <= a["status"] < 300 for a in attempts)
        # Delivered: done once its reply is in. Failed: wait on for the notice, sent after the answer.
        if delivered and any(c.get("source") == "webhook_reply" for c in ours(messages_to_chat(seen), attempts)):
            break
        time.sleep(0.25)
    for attempt in attempts:
        answer = f"answered {attempt['status']}" if attempt["status"] is not None else attempt["error"]
        print(f"  sent to {attempt['url']}: {answer}")
    if not attempts:
        print("  not delivered yet (the stand-in is still busy with earlier updates of this chat)")
    elif not delivered:
        print("  not delivered: Telegram (the stand-in) keeps the update and retries it with growing delays")
    messages = ours(messages_to_chat(seen), attempts)
    for call in messages:
        print(describe(call))
    if delivered and not any(c.get("source") == "webhook_reply" for c in messages):
        print("  the bot did not answer")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="demo_send", description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="*", help="the message (default /start)")
    parser.add_argument("--language", default="en", help="the user's Telegram language_code (default en)")
    parser.add_argument("--endpoint", choices=["down", "up"], help="switch the sample endpoint down or up")
    options = parser.parse_args(argv)
    if options.endpoint:
        endpoint_switch(options.endpoint)
        if not options.text:
            return
    send(" ".join(options.text) or "/start", options.language)


if __name__ == "__main__":
    main()
