"""Never a 2xx for an update the endpoint did not take, and one log line per refusal, floods summarised."""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory

from botpresto.bots.models import Bot
from proxy import forwarding, routes, views
from proxy import rejects as rejects_module
from proxy.rejects import rejects
from tests.factories import bot_make
from tests.proxy.conftest import UPDATE, post
from tests.proxy.endpoints import Endpoint, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(owner, endpoint: Endpoint) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, upstream_url=endpoint.url, notices_enabled=False)


@pytest.fixture(autouse=True)
def fresh_rejects() -> None:
    rejects.reset()


def raw_request(bot: Bot, body: bytes, length: int, **meta: Any) -> Any:
    """A request as a server hands it over: a body stream and the length the client announced."""
    request = RequestFactory().post(f"/proxy/bot/{bot.uuid}", data=b"", content_type="application/json", **meta)
    request.META.update({"CONTENT_LENGTH": str(length), "wsgi.input": io.BytesIO(body)})
    request.META.setdefault("HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN", str(bot.proxy_secret))
    return request


def test_it_refuses_a_body_shorter_than_announced_and_forwards_nothing(bot: Bot, endpoint: Endpoint) -> None:
    response = views.proxy_entry(raw_request(bot, UPDATE[:40], len(UPDATE)), f"bot/{bot.uuid}")
    assert response.status_code == 400
    assert endpoint.received == []


def test_it_forwards_a_body_that_arrived_whole(bot: Bot, endpoint: Endpoint) -> None:
    response = views.proxy_entry(raw_request(bot, UPDATE, len(UPDATE)), f"bot/{bot.uuid}")
    assert response.status_code == 200
    assert [r.body for r in endpoint.received] == [UPDATE]


def test_it_routes_that_cannot_load_answer_503_not_unknown_bot(
    client: Client, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_away() -> Any:
        raise OperationalError("the database is away")

    monkeypatch.setattr(routes, "_bots", database_away)
    response = post(client, bot)
    assert response.status_code == 503
    assert response["Retry-After"] == "7"


def test_it_an_unknown_bot_looked_up_while_the_database_is_away_is_503(
    client: Client, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes.table.load()
    monkeypatch.setattr(routes, "_bots", lambda: (_ for _ in ()).throw(OperationalError("away")))
    response = client.post("/proxy/bot/0b7a3e52-1111-4222-8333-444455556666", data=UPDATE, content_type="x/y")
    assert (response.status_code, response["Retry-After"]) == (503, "7")


def test_it_a_bot_whose_secrets_do_not_decrypt_is_off_alone(owner, client: Client, endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    broken, fine = (bot_make(owner.tenant, upstream_url=endpoint.url) for _ in range(2))
    secret = str(broken.proxy_secret)
    with connection.cursor() as cursor:  # sealed under a key that is no longer configured
        cursor.execute("UPDATE botpresto_bot SET proxy_secret = %s WHERE id = %s", ["v1:gone:AAAA", broken.id])
    assert post(client, fine).status_code == 200
    assert post(client, broken, secret=secret).status_code == 503
    assert len(endpoint.received) == 1
    assert str(broken.uuid) in routes.table.unreadable


def test_it_a_502_writes_one_line_not_djangos_too(
    client: Client, bot: Bot, endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.reply = Reply(500)
    caplog.set_level(logging.INFO)
    assert post(client, bot).status_code == 502
    assert [r.getMessage().split()[0] for r in caplog.records if r.levelno >= logging.WARNING] == [
        "proxy_forward_failed"
    ]


@pytest.mark.parametrize(
    ("method", "path", "status", "reason"),
    [
        ("get", "/proxy/bot/{uuid}", 405, "method"),
        ("post", "/proxy/bot/{uuid}/", 404, "path"),
        ("post", "/proxy/nothing-here", 404, "path"),
        ("post", "/proxy/bot/not-a-uuid", 404, "path"),
    ],
)
def test_it_every_refusal_has_its_line(
    client: Client, bot: Bot, caplog: pytest.LogCaptureFixture, method: str, path: str, status: int, reason: str
) -> None:
    caplog.set_level(logging.INFO)
    response = getattr(client, method)(path.format(uuid=bot.uuid))
    assert response.status_code == status
    lines = [r.getMessage() for r in caplog.records]
    assert [line for line in lines if line.startswith("proxy_rejected")] == [
        line for line in lines if f"reason={reason}" in line
    ]
    assert len(lines) == 1


def test_it_a_junk_flood_is_summarised(client: Client, bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(200):
        post(client, bot, secret="guess")
    rejects.flush(force=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "proxy.rejects"]
    assert len(lines) == rejects_module.DETAILED + 1
    assert f"proxy_rejected_summary reason=secret count=200 not_logged={200 - rejects_module.DETAILED}" in lines[-1]


def test_it_our_forwards_are_marked_and_one_that_comes_back_is_refused(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    post(client, bot)
    assert endpoint.received[0].headers["x-botpresto-hop"] == "1"
    assert post(client, bot, HTTP_X_BOTPRESTO_HOP="1").status_code == 508
    assert len(endpoint.received) == 1


def test_it_a_tenant_past_its_rate_gets_429_with_retry_after(
    owner,
    client: Client,
    bot: Bot,
    endpoint: Endpoint,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    settings.PROXY_TENANT_REQUESTS_PER_SECOND = 2
    monkeypatch.setattr(forwarding, "time", SimpleNamespace(time=lambda: 1_800_000_000.5))  # all in one second
    other_bot = bot_make(owner.tenant, upstream_url=endpoint.url)
    answers = [post(client, bot), post(client, other_bot), post(client, bot)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2]["Retry-After"] == "7"
    assert len(endpoint.received) == 2
