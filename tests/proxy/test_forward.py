from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.models import Tenant
from analytics import buffer
from botpresto.bots.models import Bot
from tests.factories import bot_make
from tests.proxy.conftest import OWNER_SECRET, UPDATE, post
from tests.proxy.endpoints import Endpoint, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(owner, endpoint: Endpoint) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, upstream_url=endpoint.url, endpoint_secret=OWNER_SECRET, notices_enabled=False)


def test_it_forwards_the_body_byte_for_byte(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    post(client, bot)
    assert endpoint.received[0].body == UPDATE


def test_it_forwards_the_content_type_it_received(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    post(client, bot, content_type="application/json; charset=utf-8")
    assert endpoint.received[0].headers["content-type"] == "application/json; charset=utf-8"


def test_it_sends_the_owners_secret_never_ours(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    post(client, bot)
    headers = endpoint.received[0].headers
    assert headers["x-telegram-bot-api-secret-token"] == OWNER_SECRET
    assert str(bot.proxy_secret) not in str(headers)


def test_it_sends_no_secret_when_the_owner_has_none(owner, client: Client, endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, upstream_url=endpoint.url, endpoint_secret=None)
    post(client, bot)
    assert "x-telegram-bot-api-secret-token" not in endpoint.received[0].headers


def test_it_relays_the_endpoints_answer_with_its_full_content_type(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    body = b'--b0undary\r\nContent-Disposition: form-data; name="method"\r\n\r\nsendMessage\r\n--b0undary--\r\n'
    endpoint.reply = Reply(200, body, {"Content-Type": "multipart/form-data; boundary=b0undary"})
    response = post(client, bot)
    assert (response.status_code, response.content) == (200, body)
    assert response["Content-Type"] == "multipart/form-data; boundary=b0undary"


def test_it_adds_no_content_type_when_the_endpoint_sent_none(client: Client, bot: Bot) -> None:
    response = post(client, bot)
    assert response.status_code == 200
    assert "Content-Type" not in response


def test_it_does_not_relay_hop_by_hop_headers(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    endpoint.reply = Reply(200, b"{}", {"Content-Type": "application/json", "Keep-Alive": "timeout=1", "X-Own": "1"})
    response = post(client, bot)
    assert "Keep-Alive" not in response
    assert "X-Own" not in response


def test_it_allows_only_post(client: Client, bot: Bot) -> None:
    assert client.get(f"/proxy/bot/{bot.uuid}").status_code == 405


def test_it_answers_404_for_a_malformed_uuid(client: Client) -> None:
    assert client.post("/proxy/bot/not-a-uuid", data=UPDATE, content_type="application/json").status_code == 404


def test_it_answers_404_for_an_unknown_bot(client: Client) -> None:
    response = client.post(
        "/proxy/bot/9b2d3c1e-0000-4000-8000-000000000000", data=UPDATE, content_type="application/json"
    )
    assert response.status_code == 404


def test_it_accepts_the_uuid_in_upper_case(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    response = client.post(
        f"/proxy/bot/{str(bot.uuid).upper()}",
        data=UPDATE,
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=str(bot.proxy_secret),
    )
    assert response.status_code == 200


def test_it_a_wrong_secret_is_refused_and_nothing_forwarded(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    assert post(client, bot, secret="wrong").status_code == 401
    assert endpoint.received == []


def test_it_a_missing_secret_is_refused(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    response = client.post(f"/proxy/bot/{bot.uuid}", data=UPDATE, content_type="application/json")
    assert response.status_code == 401
    assert endpoint.received == []


def test_it_a_refusal_is_logged_without_the_secret(client: Client, bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    post(client, bot, secret="wrong-guess")
    assert f"proxy_rejected reason=secret bot={bot.uuid} source=127.0.0.1" in caplog.text
    assert "wrong-guess" not in caplog.text


def test_it_another_bots_secret_is_refused(owner, client: Client, bot: Bot) -> None:  # type: ignore[no-untyped-def]
    other = bot_make(owner.tenant)
    assert post(client, bot, secret=str(other.proxy_secret)).status_code == 401


def test_it_a_body_over_the_limit_is_refused(client: Client, bot: Bot, endpoint: Endpoint, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PROXY_MAX_BODY_BYTES = 2048
    assert post(client, bot, body=b"x" * 2049).status_code == 413
    assert endpoint.received == []


def test_it_a_body_at_the_limit_is_forwarded(client: Client, bot: Bot, endpoint: Endpoint, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PROXY_MAX_BODY_BYTES = 2048
    assert post(client, bot, body=b"x" * 2048).status_code == 200


@pytest.mark.parametrize("status", [Bot.Status.DISCONNECTED, Bot.Status.BYPASSED, Bot.Status.WEBHOOK_CHANGED])
def test_it_a_stray_update_of_a_bot_that_moved_away_still_reaches_its_endpoint(
    owner,
    client: Client,
    endpoint: Endpoint,
    status: str,  # type: ignore[no-untyped-def]
) -> None:
    # Telegram may deliver an update that was in flight when the webhook moved: answering 200
    # without forwarding it would lose it.
    bot = bot_make(owner.tenant, upstream_url=endpoint.url, status=status)
    assert post(client, bot).status_code == 200
    assert [r.body for r in endpoint.received] == [UPDATE]


@pytest.mark.parametrize("status", [Bot.Status.DISCONNECTED, Bot.Status.BYPASSED])
def test_it_a_stray_update_the_endpoint_fails_is_kept_by_telegram(
    owner,
    client: Client,
    endpoint: Endpoint,
    status: str,  # type: ignore[no-untyped-def]
) -> None:
    endpoint.reply = Reply(500)
    bot = bot_make(owner.tenant, upstream_url=endpoint.url, status=status)
    assert post(client, bot).status_code == 502


def test_it_records_the_updates_metadata_once_per_update(client: Client, bot: Bot) -> None:
    post(client, bot)
    [record] = buffer.records_pop(10)
    assert record["bot"] == str(bot.uuid)
    assert record["outcome"] == {
        "status": 200,
        "upstream_status": 200,
        "latency_ms": record["outcome"]["latency_ms"],
        "error": None,
    }
    assert record["update"]["update_id"] == 1001
    assert record["update"]["user"]["language_code"] == "pt-BR"
    assert record["malformed"] is False
    assert "ol\u00e1" not in json.dumps(record, ensure_ascii=False)  # never the text


def test_it_a_body_that_is_not_an_update_is_forwarded_and_recorded_as_malformed(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    assert post(client, bot, body=b"not json").status_code == 200
    assert endpoint.received[0].body == b"not json"
    [record] = buffer.records_pop(10)
    assert (record["update"], record["malformed"]) == (None, True)


def test_it_an_outsider_cannot_reach_another_tenants_bot_with_its_own_secret(
    outsider,
    client: Client,
    bot: Bot,
    endpoint: Endpoint,  # type: ignore[no-untyped-def]
) -> None:
    theirs = bot_make(outsider.tenant, upstream_url="http://127.0.0.1:9/none")
    response = client.post(
        f"/proxy/bot/{bot.uuid}",
        data=UPDATE,
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=str(theirs.proxy_secret),
    )
    assert response.status_code == 401
    assert endpoint.received == []
    assert Tenant.objects.count() == 2
