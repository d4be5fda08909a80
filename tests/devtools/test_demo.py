"""The demo's sample endpoint and demo_send: what is printed belongs to the update just sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from botpresto.devtools import demo_send
from botpresto.devtools.demo_telegram import ENDPOINT_SECRET, EchoBot
from botpresto.devtools.standin import StandIn


@pytest.fixture
def sample(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The sample endpoint on a free port, the demo bot's webhook on it, demo_send pointed at both."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoBot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    standin.add_bot(
        demo_send.TOKEN, username="presto_demo_bot", webhook_url=f"{url}/hook", secret_token=ENDPOINT_SECRET
    )
    monkeypatch.setattr(demo_send, "STANDIN", standin.url)
    monkeypatch.setattr(demo_send, "ENDPOINT", url)
    monkeypatch.setattr(demo_send, "WAIT_SECONDS", 1.5)
    try:
        yield url
    finally:
        EchoBot.down.clear()
        server.shutdown()
        server.server_close()


def test_it_shows_the_bots_answer_to_this_message(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    demo_send.main(["hello"])
    out = capsys.readouterr().out
    assert f"sent to {sample}/hook: answered 200" in out
    assert "the bot answered: 'Echo: hello'" in out


def test_it_does_not_show_an_earlier_answer_when_this_update_failed(
    sample: str, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_send.main(["first"])
    capsys.readouterr()
    demo_send.main(["--endpoint", "down", "second"])
    out = capsys.readouterr().out
    assert "The sample endpoint is down" in out
    assert f"sent to {sample}/hook: answered 503" in out
    assert "not delivered: Telegram (the stand-in) keeps the update and retries it" in out
    assert "the bot answered" not in out


def test_it_brings_the_endpoint_back_and_the_held_update_through(
    sample: str, standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_send.main(["--endpoint", "down", "held"])
    demo_send.main(["--endpoint", "up"])
    standin.wait_idle(demo_send.TOKEN)
    demo_send.main(["after"])
    out = capsys.readouterr().out
    assert "The sample endpoint is up again" in out
    assert "the bot answered: 'Echo: after'" in out
    texts = [call.params["text"] for call in standin.calls(demo_send.TOKEN, "sendMessage")]
    assert texts == ["Echo: held", "Echo: after"]


def test_it_calls_our_notice_ours_not_the_bots() -> None:
    attempts: list[dict[str, Any]] = [{"update_id": 2, "status": 502, "time": 10.0}]
    notice = {"source": "api", "time": 10.5, "params": {"chat_id": 4242, "text": "The bot is temporarily unavailable"}}
    earlier_reply = {"source": "webhook_reply", "time": 5.0, "params": {"chat_id": 4242, "text": "Echo: first"}}
    shown = demo_send.ours([earlier_reply, notice], attempts)
    assert shown == [notice]
    assert demo_send.describe(notice).startswith("  BotPresto told the user")


def test_it_keeps_the_login_and_the_demo_key_across_runs(db: None, tmp_path: Any, settings: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.services import api_key_authenticate, api_key_revoke
    from botpresto.devtools.management.commands.dev_admin import login_read

    settings.DEBUG = True
    login = tmp_path / "login.txt"
    call_command("dev_admin", "--login-file", str(login), "--api-key", "demo")
    first = login_read(login)
    call_command("dev_admin", "--login-file", str(login), "--api-key", "demo")
    assert login_read(login) == first
    admin = get_user_model().objects.get(username="admin@localhost")
    assert admin.check_password(first["password"])
    assert admin.is_superuser
    assert oct(login.stat().st_mode & 0o777) == "0o600"
    key, _ = api_key_authenticate(plaintext=first["api_key"]) or (None, None)
    assert key is not None
    api_key_revoke(api_key=key, actor=key.created_by)
    call_command("dev_admin", "--login-file", str(login), "--api-key", "demo")
    renewed = login_read(login)
    assert renewed["password"] == first["password"]
    assert renewed["api_key"] != first["api_key"]
    assert api_key_authenticate(plaintext=renewed["api_key"]) is not None
