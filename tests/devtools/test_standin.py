"""The local Bot API stand-in behaves like Telegram where the proxy depends on it (see TELEGRAM.md)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from urllib3 import encode_multipart_formdata

from botpresto.devtools.standin import StandIn

Reply = tuple[int, dict[str, str], bytes]
OK: Reply = (200, {}, b"")
PORTS_ONLY = "Webhook can be set up only on ports 80, 88, 443 or 8443"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    time: float

    @property
    def update(self) -> dict[str, Any]:
        update: dict[str, Any] = json.loads(self.body)
        return update


class Webhook:
    """A webhook endpoint whose answers the test decides through ``respond``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.respond: Callable[[Received], Reply] = lambda request: OK
        self.release = threading.Event()  # ends answers that a test holds back
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Received(dict(self.headers.items()), body, time.monotonic())
                hook.received.append(request)
                status, headers, payload = hook.respond(request)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(payload)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def update_ids(self) -> list[int]:
        return [request.update["update_id"] for request in self.received]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(retry_base_delay=0.05, retry_max_delay=0.2, read_timeout=2.0) as running:
        yield running


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def api(standin: StandIn, token: str, method: str, **params: Any) -> requests.Response:
    return requests.post(f"{standin.url}/bot{token}/{method}", json=params, timeout=5)


def message(chat_id: int, text: str = "hi") -> dict[str, Any]:
    return {
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann"},
            "text": text,
        }
    }


def failing_with(status: int, headers: dict[str, str] | None = None) -> Callable[[Received], Reply]:
    return lambda request: (status, headers or {}, b"")


# The Bot API side


def test_it_answers_get_me_with_the_bot(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot", first_name="Demo")

    response = api(standin, bot.token, "getMe")

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "result": {
            "id": bot.id,
            "is_bot": True,
            "first_name": "Demo",
            "username": "demo_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        },
    }
    assert bot.token.split(":")[0] == str(bot.id)


def test_it_answers_401_to_an_unknown_token(standin: StandIn) -> None:
    response = api(standin, "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "getMe")

    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_it_answers_401_to_a_revoked_token_for_every_method(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")
    standin.revoke(bot.token)

    for method in ("getMe", "getWebhookInfo", "sendMessage", "anyOtherMethod"):
        response = api(standin, bot.token, method)
        assert (response.status_code, response.json()["description"]) == (401, "Unauthorized"), method


def test_it_answers_404_to_a_malformed_token(standin: StandIn) -> None:
    response = api(standin, "not-a-token", "getMe")

    assert response.status_code == 404


def test_it_reads_form_encoded_and_query_string_parameters(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")

    requests.post(f"{standin.url}/bot{bot.token}/sendChatAction", data={"chat_id": "5"}, timeout=5)
    requests.get(f"{standin.url}/bot{bot.token}/sendChatAction?chat_id=6", timeout=5)

    assert [call.params for call in standin.calls(bot.token)] == [{"chat_id": "5"}, {"chat_id": "6"}]


def test_it_records_every_call(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")

    response = api(standin, bot.token, "setMyCommands", commands=[{"command": "start", "description": "Start"}])

    assert response.json() == {"ok": True, "result": True}
    [call] = standin.calls(bot.token, method="setmycommands")
    assert (call.method, call.source, call.error_code) == ("setMyCommands", "api", None)
    assert call.params == {"commands": [{"command": "start", "description": "Start"}]}


@pytest.mark.parametrize("secret", ["a b", "a+b/c=", "секрет", "a.b"])
def test_it_refuses_a_secret_token_with_other_characters(standin: StandIn, secret: str) -> None:
    bot = standin.add_bot(username="demo_bot")

    response = api(standin, bot.token, "setWebhook", url="https://example.com/hook", secret_token=secret)

    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: secret token contains unallowed characters"


def test_it_refuses_a_secret_token_longer_than_256_characters(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")

    too_long = api(standin, bot.token, "setWebhook", url="https://example.com/hook", secret_token="a" * 257)
    longest = api(standin, bot.token, "setWebhook", url="https://example.com/hook", secret_token="a_-Z9" * 51 + "x")

    assert (too_long.status_code, too_long.json()["description"]) == (400, "Bad Request: secret token is too long")
    assert longest.json() == {"ok": True, "result": True, "description": "Webhook was set"}


@pytest.mark.parametrize(("given", "kept"), [(None, 40), (1, 1), (100, 100), (0, 1), (500, 100)])
def test_it_keeps_max_connections_between_1_and_100(standin: StandIn, given: int | None, kept: int) -> None:
    bot = standin.add_bot(username="demo_bot")

    api(standin, bot.token, "setWebhook", url="https://example.com/hook", max_connections=given)

    assert api(standin, bot.token, "getWebhookInfo").json()["result"]["max_connections"] == kept


@pytest.mark.parametrize(
    ("url", "description"),
    [
        ("http://example.com/hook", "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        (
            "https://example.com:8080/hook",
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        ("https://:443/hook", "Bad Request: invalid webhook URL specified"),
    ],
)
def test_it_refuses_webhooks_telegram_would_refuse(url: str, description: str) -> None:
    with StandIn(allow_http=False) as strict:
        bot = strict.add_bot(username="demo_bot")

        response = api(strict, bot.token, "setWebhook", url=url)

    assert (response.status_code, response.json()["description"]) == (400, description)


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "https://example.com:8443/hook", "https://example.com:88/"]
)
def test_it_accepts_https_webhooks_on_telegram_ports(url: str) -> None:
    with StandIn(allow_http=False) as strict:
        bot = strict.add_bot(username="demo_bot")

        response = api(strict, bot.token, "setWebhook", url=url)

    assert response.status_code == 200


def test_it_accepts_a_local_http_webhook_when_allowed(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")

    response = api(standin, bot.token, "setWebhook", url="http://127.0.0.1:9999/hook")

    assert response.status_code == 200
    assert standin.bot(bot.token).webhook_url == "http://127.0.0.1:9999/hook"


def test_it_shows_a_bot_without_webhook_in_get_webhook_info(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")

    info = api(standin, bot.token, "getWebhookInfo").json()

    assert info == {"ok": True, "result": {"url": "", "has_custom_certificate": False, "pending_update_count": 0}}


def test_it_shows_the_webhook_settings_but_never_the_secret(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")
    api(
        standin,
        bot.token,
        "setWebhook",
        url="https://example.com/hook",
        secret_token="s3cret-value",
        max_connections=10,
        allowed_updates=["message", "callback_query"],
        ip_address="203.0.113.7",
    )

    response = api(standin, bot.token, "getWebhookInfo")

    assert response.json()["result"] == {
        "url": "https://example.com/hook",
        "has_custom_certificate": False,
        "pending_update_count": 0,
        "max_connections": 10,
        "ip_address": "203.0.113.7",
        "allowed_updates": ["message", "callback_query"],
    }
    assert "s3cret-value" not in response.text
    assert standin.bot(bot.token).secret_token == "s3cret-value"


def test_it_records_a_certificate_uploaded_with_set_webhook(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")
    pem = b"-----BEGIN CERTIFICATE-----\r\nMIIB\x00\xff\r\n-----END CERTIFICATE-----\n"

    response = requests.post(
        f"{standin.url}/bot{bot.token}/setWebhook",
        data={"url": "https://example.com/hook", "max_connections": "5"},
        files={"certificate": ("cert.pem", pem, "application/x-pem-file")},
        timeout=5,
    )

    assert response.json()["ok"] is True
    state = standin.bot(bot.token)
    assert (state.certificate, state.has_custom_certificate, state.max_connections) == (pem, True, 5)
    assert standin.calls(bot.token, "setWebhook")[0].files == {"certificate": pem}
    assert api(standin, bot.token, "getWebhookInfo").json()["result"]["has_custom_certificate"] is True


def test_it_sends_a_message_to_a_chat_the_bot_has_seen(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")
    standin.push_update(bot.token, message(42))

    response = api(standin, bot.token, "sendMessage", chat_id=42, text="Hello")

    result = response.json()["result"]
    assert (result["chat"]["id"], result["text"], result["from"]["id"]) == (42, "Hello", bot.id)
    assert isinstance(result["message_id"], int)
    assert isinstance(result["date"], int)


def test_it_answers_chat_not_found_for_a_chat_the_bot_never_saw(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")

    response = api(standin, bot.token, "sendMessage", chat_id=42, text="Hello")

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}


def test_it_answers_403_when_the_user_blocked_the_bot(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")
    standin.add_chat(bot.token, {"id": 42, "type": "private", "first_name": "Ann"})
    standin.block_chat(bot.token, 42)

    response = api(standin, bot.token, "sendMessage", chat_id=42, text="Hello")

    assert response.status_code == 403
    assert response.json()["description"] == "Forbidden: bot was blocked by the user"


def test_it_answers_429_with_retry_after_for_the_rate_limited_calls(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")
    standin.add_chat(bot.token, {"id": 42, "type": "private"})
    standin.rate_limit(bot.token, "sendMessage", retry_after=7, count=2)

    answers = [api(standin, bot.token, "sendMessage", chat_id=42, text="x") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [429, 429, 200]
    assert answers[0].json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert api(standin, bot.token, "getMe").status_code == 200


# Delivery to the webhook


def test_it_posts_an_update_as_compact_json_with_the_secret_header(standin: StandIn, webhook: Webhook) -> None:
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url, secret_token="s3cret")
    update = {"update_id": 77, **message(42, "héllo")}

    standin.push_update(bot.token, update)
    standin.wait_idle(bot.token)

    [request] = webhook.received
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
    assert request.body == json.dumps(update, separators=(",", ":"), ensure_ascii=False).encode()
    assert standin.bot(bot.token).delivered == [update]


def test_it_sends_no_secret_header_when_no_secret_is_set(standin: StandIn, webhook: Webhook) -> None:
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42))
    standin.wait_idle(bot.token)

    assert "X-Telegram-Bot-Api-Secret-Token" not in webhook.received[0].headers


def test_it_numbers_updates_in_increasing_order(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")

    first, second = standin.push_updates(bot.token, [message(1), message(2)])
    given = standin.push_update(bot.token, {"update_id": 500, **message(3)})

    assert (second - first, given, standin.push_update(bot.token, message(4))) == (1, 500, 501)


def test_it_skips_update_types_the_bot_did_not_allow(standin: StandIn, webhook: Webhook) -> None:
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)
    member = {"chat": {"id": 7, "type": "group"}, "from": {"id": 1}, "date": 1, "old_chat_member": {}}

    standin.push_update(bot.token, {"chat_member": member})
    standin.push_update(bot.token, message(42))
    standin.wait_idle(bot.token)

    assert [list(request.update)[1] for request in webhook.received] == ["message"]


def test_it_retries_only_the_head_of_a_chat_while_the_webhook_fails(standin: StandIn, webhook: Webhook) -> None:
    webhook.respond = failing_with(502)
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    ids = standin.push_updates(bot.token, [message(42, "one"), message(42, "two"), message(42, "three")])
    standin.wait_for(lambda: len(webhook.received) >= 4)

    assert set(webhook.update_ids()) == {ids[0]}
    state = standin.bot(bot.token)
    assert state.pending_update_count == 3
    assert state.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
    assert abs(time.time() - (state.last_error_date or 0)) < 5
    info = api(standin, bot.token, "getWebhookInfo").json()["result"]
    assert (info["pending_update_count"], info["last_error_message"]) == (3, state.last_error_message)


def test_it_retries_at_once_then_after_doubling_delays(standin: StandIn, webhook: Webhook) -> None:
    webhook.respond = failing_with(500)
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42))
    standin.wait_for(lambda: len(webhook.received) >= 4)

    times = [request.time for request in webhook.received[:4]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps[1] >= 0.045
    assert gaps[2] >= 0.095
    assert gaps[0] < gaps[2]


def test_it_delivers_a_chat_in_order_once_the_webhook_recovers(standin: StandIn, webhook: Webhook) -> None:
    webhook.respond = failing_with(503)
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)
    ids = standin.push_updates(bot.token, [message(42, str(n)) for n in range(5)])
    standin.wait_for(lambda: len(webhook.received) >= 3)

    webhook.respond = lambda request: OK
    standin.wait_idle(bot.token)

    accepted = [attempt.update_id for attempt in standin.delivery_log(bot.token) if attempt.status == 200]
    assert accepted == ids
    assert [update["update_id"] for update in standin.bot(bot.token).delivered] == ids


def test_it_keeps_other_chats_going_while_one_chat_fails(standin: StandIn, webhook: Webhook) -> None:
    webhook.respond = lambda request: (500, {}, b"") if request.update["message"]["chat"]["id"] == 1 else OK
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    stuck, *others = standin.push_updates(bot.token, [message(1), message(2), message(3), message(2)])
    standin.wait_for(lambda: standin.bot(bot.token).pending_update_count == 1)

    delivered = [update["update_id"] for update in standin.bot(bot.token).delivered]
    assert sorted(delivered) == others
    assert delivered.index(others[0]) < delivered.index(others[2]), "chat 2 keeps its order"
    assert stuck not in delivered


def test_it_waits_as_long_as_retry_after_says(standin: StandIn, webhook: Webhook) -> None:
    answers = iter([(503, {"Retry-After": "1"}, b""), OK])
    webhook.respond = lambda request: next(answers)
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42))
    standin.wait_idle(bot.token, timeout=5)

    first, second = webhook.received
    assert second.time - first.time >= 0.95


def test_it_reports_a_refused_connection(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot", webhook_url="http://127.0.0.1:9/hook")

    standin.push_update(bot.token, message(42))
    standin.wait_for(lambda: standin.bot(bot.token).last_error_message is not None)

    assert standin.bot(bot.token).last_error_message == "Connection refused"
    assert standin.delivery_log(bot.token)[0].error == "connection_refused"


def test_it_treats_a_redirect_as_a_failure(standin: StandIn, webhook: Webhook) -> None:
    webhook.respond = lambda request: (302, {"Location": "http://127.0.0.1:9/"}, b"")
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42))
    standin.wait_for(lambda: len(webhook.received) >= 2)

    assert standin.bot(bot.token).last_error_message == "Wrong response from the webhook: 302 Found"


def test_it_reports_a_read_timeout(webhook: Webhook) -> None:
    webhook.respond = lambda request: (webhook.release.wait(5), OK)[1]
    with StandIn(read_timeout=0.2, retry_base_delay=10) as standin:
        bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

        standin.push_update(bot.token, message(42))
        standin.wait_for(lambda: standin.bot(bot.token).last_error_message is not None)

        assert standin.bot(bot.token).last_error_message == "Read timeout expired"


def test_it_sends_pending_updates_to_the_new_webhook(standin: StandIn, webhook: Webhook) -> None:
    bot = standin.add_bot(username="demo_bot", webhook_url="http://127.0.0.1:9/hook")
    ids = standin.push_updates(bot.token, [message(42, "one"), message(42, "two")])
    standin.wait_for(lambda: standin.bot(bot.token).last_error_message is not None)

    api(standin, bot.token, "setWebhook", url=webhook.url)
    standin.wait_idle(bot.token)

    assert webhook.update_ids() == ids


def test_it_keeps_updates_pending_after_delete_webhook(standin: StandIn, webhook: Webhook) -> None:
    bot = standin.add_bot(username="demo_bot")
    api(standin, bot.token, "setWebhook", url=webhook.url)
    api(standin, bot.token, "deleteWebhook")

    standin.push_update(bot.token, message(42))
    time.sleep(0.1)

    assert webhook.received == []
    assert api(standin, bot.token, "getWebhookInfo").json()["result"]["pending_update_count"] == 1


def test_it_drops_pending_updates_when_asked(standin: StandIn) -> None:
    bot = standin.add_bot(username="demo_bot")
    standin.push_updates(bot.token, [message(1), message(2)])

    api(standin, bot.token, "setWebhook", url="https://example.com/hook", drop_pending_updates=True)

    assert standin.bot(bot.token).pending_update_count == 0


def test_it_removes_the_webhook_after_a_run_of_410_answers(webhook: Webhook) -> None:
    webhook.respond = failing_with(410)
    with StandIn(retry_base_delay=0.05, retry_max_delay=0.05, gone_after=0.2) as standin:
        bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

        standin.push_update(bot.token, message(42))
        standin.wait_for(lambda: standin.bot(bot.token).webhook_url == "", timeout=5)

        info = api(standin, bot.token, "getWebhookInfo").json()["result"]
        assert (info["url"], info["pending_update_count"]) == ("", 1)


# What a webhook may answer


def test_it_runs_a_method_the_webhook_answers_with_as_json(standin: StandIn, webhook: Webhook) -> None:
    reply = {"method": "sendMessage", "chat_id": 42, "text": "pong"}
    webhook.respond = lambda request: (200, {"Content-Type": "application/json"}, json.dumps(reply).encode())
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42, "ping"))
    standin.wait_idle(bot.token)

    [call] = standin.calls(bot.token, source="webhook_reply")
    assert (call.method, call.params, call.error_code) == ("sendMessage", {"chat_id": 42, "text": "pong"}, None)


def test_it_runs_a_method_the_webhook_answers_with_as_multipart(standin: StandIn, webhook: Webhook) -> None:
    body, content_type = encode_multipart_formdata({"method": "answerCallbackQuery", "callback_query_id": "99"})
    webhook.respond = lambda request: (200, {"Content-Type": content_type}, body)
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42))
    standin.wait_idle(bot.token)

    [call] = standin.calls(bot.token, source="webhook_reply")
    assert (call.method, call.params) == ("answerCallbackQuery", {"callback_query_id": "99"})


@pytest.mark.parametrize("method", ["setWebhook", "deleteWebhook", "close", "logOut", "getMe", "getUpdates"])
def test_it_ignores_a_webhook_answer_that_would_change_or_read_the_bot(
    standin: StandIn, webhook: Webhook, method: str
) -> None:
    reply = {"method": method, "url": "https://example.com/elsewhere"}
    webhook.respond = lambda request: (200, {"Content-Type": "application/json"}, json.dumps(reply).encode())
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42))
    standin.wait_idle(bot.token)

    assert standin.calls(bot.token) == []
    assert standin.bot(bot.token).webhook_url == webhook.url


def test_it_ignores_a_method_in_a_failed_answer(standin: StandIn, webhook: Webhook) -> None:
    answers = iter([(500, {"Content-Type": "application/json"}, b'{"method":"sendMessage","chat_id":42}'), OK])
    webhook.respond = lambda request: next(answers)
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)

    standin.push_update(bot.token, message(42))
    standin.wait_idle(bot.token)

    assert standin.calls(bot.token) == []


# Running it


def test_it_can_be_driven_over_http(standin: StandIn, webhook: Webhook) -> None:
    control = f"{standin.url}/_standin"
    bot = requests.post(f"{control}/add_bot", json={"username": "demo_bot", "webhook_url": webhook.url}, timeout=5)
    token = bot.json()["result"]["token"]

    pushed = requests.post(f"{control}/push_update", json={"token": token, "update": message(42)}, timeout=5)
    standin.wait_idle(token)
    state = requests.get(f"{control}/bot", params={"token": token}, timeout=5).json()["result"]

    assert webhook.update_ids() == [pushed.json()["result"]]
    assert (state["pending_update_count"], state["delivered"][0]["update_id"]) == (0, pushed.json()["result"])
    assert requests.post(f"{control}/bot", json={"token": "1:nope"}, timeout=5).status_code == 404


def test_it_stops_quickly_while_retries_wait_and_posts_hang(webhook: Webhook) -> None:
    def respond(request: Received) -> Reply:
        if request.update["message"]["chat"]["id"] == 1:
            webhook.release.wait(10)
        return (503, {"Retry-After": "3600"}, b"")

    webhook.respond = respond
    standin = StandIn(retry_base_delay=0.05).start()
    bot = standin.add_bot(username="demo_bot", webhook_url=webhook.url)
    standin.push_updates(bot.token, [message(1), message(2)])
    standin.wait_for(lambda: len(webhook.received) == 2)

    started = time.monotonic()
    standin.stop()

    assert time.monotonic() - started < 1.5
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{standin.port}/_standin/bots", timeout=1)
