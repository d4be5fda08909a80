"""A restarted stand-in (a restarted `make demo`) keeps what Telegram keeps, in step with BotPresto's database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from botpresto.devtools.standin import StandIn
from tests.devtools.test_standin import Webhook, api, message

ROOT = Path(__file__).resolve().parents[2]


def restarted(state: Path, port: int = 0) -> StandIn:
    return StandIn(port=port, retry_base_delay=0.05, retry_max_delay=0.2, read_timeout=2.0, state_file=state).start()


def test_it_keeps_the_webhook_its_secret_and_allowed_updates_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "standin.json"
    first = restarted(state)
    bot = first.add_bot(username="shop_bot", webhook_url="https://owner.example/hook")
    webhook = {"url": "https://botpresto.example/proxy/bot/1", "secret_token": "ours", "max_connections": 7}
    assert api(first, bot.token, "setWebhook", **webhook, allowed_updates=["message", "my_chat_member"]).ok
    first.stop()

    second = restarted(state)
    try:
        info = api(second, bot.token, "getWebhookInfo").json()["result"]
        assert info["url"] == "https://botpresto.example/proxy/bot/1"
        assert (info["max_connections"], info["allowed_updates"]) == (7, ["message", "my_chat_member"])
        assert second.bot(bot.token).secret_token == "ours"
    finally:
        second.stop()


def test_it_delivers_the_updates_queued_before_the_restart(tmp_path: Path) -> None:
    state = tmp_path / "standin.json"
    hook = Webhook()
    try:
        first = restarted(state)
        bot = first.add_bot(username="shop_bot")  # no webhook yet: updates wait, as in Telegram
        first.push_update(bot.token, message(42, "before"))
        first.stop()
        second = restarted(state)
        assert api(second, bot.token, "setWebhook", url=hook.url).ok
        second.wait_idle(bot.token, timeout=5)
        assert [r.update["message"]["text"] for r in hook.received] == ["before"]
        assert second.push_update(bot.token, message(42, "after")) == hook.received[0].update["update_id"] + 1
        second.stop()
    finally:
        hook.close()


def test_it_a_restarted_demo_stand_in_still_points_the_bot_at_botpresto(tmp_path: Path) -> None:
    from botpresto.devtools.demo_telegram import DEMO_TOKEN

    env = {
        **os.environ,
        "DEMO_STANDIN_STATE": str(tmp_path / "standin.json"),
        "DEMO_STANDIN_PORT": str(free_port()),
        "DEMO_ENDPOINT_PORT": str(free_port()),
    }
    url = f"http://127.0.0.1:{env['DEMO_STANDIN_PORT']}/bot{DEMO_TOKEN}"

    def run_demo() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "botpresto.devtools.demo_telegram"], cwd=ROOT, env=env)
        wait_answering(f"{url}/getMe")
        return process

    demo = run_demo()
    proxy = "http://127.0.0.1:1/proxy/bot/6b9e"  # what connecting the bot in BotPresto sets
    assert requests.post(f"{url}/setWebhook", json={"url": proxy, "secret_token": "s"}, timeout=5).ok
    stop(demo)
    demo = run_demo()
    try:
        info: dict[str, Any] = requests.get(f"{url}/getWebhookInfo", timeout=5).json()["result"]
        assert info["url"] == proxy
    finally:
        stop(demo)
    assert json.loads((tmp_path / "standin.json").read_text())["bots"][0]["username"] == "presto_demo_bot"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                pytest.fail(f"nothing answered at {url}")
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)  # as honcho stops it
    process.wait(timeout=10)
