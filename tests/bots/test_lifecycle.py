"""Connect, rotate, disconnect, reconnect and delete, against the Telegram stand-in over HTTP."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import override_settings

from botpresto.bots import services
from botpresto.bots.models import Bot
from botpresto.core.telegram import TelegramUnavailable, telegram
from botpresto.devtools.standin import StandIn
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
ORIGINAL = "https://bot.example.com/telegram/hook"


@pytest.fixture(autouse=True)
def _endpoints_need_no_dns(settings: Any) -> None:
    # bot.example.com does not resolve here; the guard has tests of its own below.
    settings.ALLOW_PRIVATE_UPSTREAMS = True


def connect(party: Party, **data: Any) -> Any:
    return party.api().post("/api/v1/bots/", data, format="json")


@pytest.fixture
def tg_bot(standin: StandIn) -> Any:
    """A bot whose webhook already points at its owner's endpoint, with non-default settings."""
    return standin.add_bot(
        username="shop_bot",
        webhook_url=ORIGINAL,
        secret_token="owner-secret_1",
        max_connections=7,
        allowed_updates=["message", "callback_query"],
        ip_address="203.0.113.9",
    )


def test_it_connect_points_the_webhook_at_the_proxy_with_our_secret(
    owner: Party, standin: StandIn, tg_bot: Any
) -> None:
    response = connect(owner, token=tg_bot.token, endpoint_secret="owner-secret_1")
    assert response.status_code == 201, response.content
    bot = Bot.objects.get(uuid=response.json()["id"])
    state = standin.bot(tg_bot.token)
    assert state.webhook_url == bot.proxy_url == response.json()["proxy_url"]
    assert state.secret_token == bot.proxy_secret != "owner-secret_1"
    # Subscribed to blocks too (botpresto.bots.subscription); the proxy forwards only the owner's types.
    assert (state.max_connections, state.allowed_updates) == (7, ["message", "callback_query", "my_chat_member"])
    assert response.json()["status"] == "active"


def test_it_connect_saves_the_original_webhook(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    response = connect(owner, token=tg_bot.token, endpoint_secret="owner-secret_1")
    bot = Bot.objects.get(uuid=response.json()["id"])
    assert (bot.original_url, bot.upstream_url, bot.endpoint_secret) == (ORIGINAL, ORIGINAL, "owner-secret_1")
    assert (bot.original_max_connections, bot.original_allowed_updates) == (7, ["message", "callback_query"])
    assert bot.original_ip_address == "203.0.113.9"
    assert (bot.telegram_id, bot.username) == (tg_bot.id, "shop_bot")


def test_it_connect_keeps_the_pending_updates(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    # The owner's endpoint does not exist here, so Telegram holds these two.
    standin.push_updates(tg_bot.token, [{"message": {"date": 1, "chat": {"id": 5, "type": "private"}}}] * 2)
    standin.wait_for(lambda: standin.bot(tg_bot.token).last_error_message is not None)
    connect(owner, token=tg_bot.token)
    assert standin.bot(tg_bot.token).pending_update_count == 2
    assert all("drop_pending_updates" not in call.params for call in standin.calls(tg_bot.token, "setWebhook"))


def test_it_a_polling_bot_needs_an_endpoint_url(owner: Party, standin: StandIn) -> None:
    polling = standin.add_bot(username="poll_bot")
    response = connect(owner, token=polling.token)
    assert response.status_code == 400
    assert response.json()["code"] == "endpoint_required"
    assert "upstream_url" in response.json()["fields"]
    assert not Bot.objects.exists()


def test_it_a_polling_bot_connects_with_an_endpoint_url(owner: Party, standin: StandIn) -> None:
    polling = standin.add_bot(username="poll_bot")
    response = connect(owner, token=polling.token, upstream_url="https://bot.example.com/new")
    assert response.status_code == 201
    assert Bot.objects.get().original_url == ""


def test_it_an_invalid_token_is_refused_and_nothing_is_saved(owner: Party, standin: StandIn) -> None:
    response = connect(owner, token="123456:not-a-real-token")
    assert response.status_code == 400
    assert response.json()["code"] == "token_invalid"
    assert "token" in response.json()["fields"]
    assert not Bot.objects.exists()


def test_it_a_bot_connected_elsewhere_is_refused_without_saying_where(
    owner: Party, outsider: Party, standin: StandIn, tg_bot: Any
) -> None:
    connect(owner, token=tg_bot.token)
    calls_before = len(standin.calls(tg_bot.token, "setWebhook"))
    response = connect(outsider, token=tg_bot.token)
    assert response.status_code == 409
    assert response.json()["code"] == "bot_unavailable"
    assert "cannot be connected" in response.json()["detail"]
    assert "already" not in response.json()["detail"]
    assert len(standin.calls(tg_bot.token, "setWebhook")) == calls_before
    assert Bot.objects.get().tenant == owner.tenant


def test_it_connecting_the_same_bot_twice_is_a_conflict(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    connect(owner, token=tg_bot.token)
    response = connect(owner, token=tg_bot.token)
    assert response.status_code == 409
    assert response.json()["code"] == "bot_already_connected"


def test_it_an_endpoint_on_a_private_address_is_refused(owner: Party, standin: StandIn, settings: Any) -> None:
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    polling = standin.add_bot(username="poll_bot")
    response = connect(owner, token=polling.token, upstream_url="https://10.0.0.8/hook")
    assert response.status_code == 400
    assert "private" in response.json()["detail"]
    assert standin.calls(polling.token, "setWebhook") == []


def test_it_telegram_unreachable_answers_503_and_changes_nothing(owner: Party, settings: Any) -> None:
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = connect(owner, token="123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 503
    assert response.json()["code"] == "telegram_unavailable"
    assert not Bot.objects.exists()


def test_it_a_self_signed_webhook_needs_its_certificate(owner: Party, standin: StandIn) -> None:
    polling = standin.add_bot(username="cert_bot")
    telegram.set_webhook(polling.token, url=ORIGINAL, certificate=b"-----BEGIN CERTIFICATE-----\nMIIB\n")
    response = connect(owner, token=polling.token)
    assert response.status_code == 400
    assert response.json()["code"] == "certificate_required"


def test_it_a_crash_after_set_webhook_is_completed_by_a_retry(
    owner: Party, standin: StandIn, tg_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = telegram.get_webhook_info
    calls = {"n": 0}

    def crash_on_confirmation(token: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the read that confirms setWebhook
            raise KeyboardInterrupt("the process died")
        return real(token)

    monkeypatch.setattr(telegram, "get_webhook_info", crash_on_confirmation)
    with pytest.raises(KeyboardInterrupt):
        services.bot_create(tenant=owner.tenant, token=tg_bot.token, endpoint_secret="owner-secret_1")
    monkeypatch.setattr(telegram, "get_webhook_info", real)
    half_done = Bot.objects.get()
    assert half_done.status == Bot.Status.CONNECTING
    assert standin.bot(tg_bot.token).webhook_url == half_done.proxy_url

    response = connect(owner, token=tg_bot.token)
    assert response.status_code == 201
    bot = Bot.objects.get()
    assert (bot.uuid, bot.status, bot.original_url) == (half_done.uuid, Bot.Status.ACTIVE, ORIGINAL)
    assert standin.bot(tg_bot.token).secret_token == bot.proxy_secret


def test_it_rotate_refuses_another_bots_token(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    bot_id = connect(owner, token=tg_bot.token).json()["id"]
    other = standin.add_bot(username="other_bot")
    response = owner.api().post(f"/api/v1/bots/{bot_id}/rotate-token/", {"token": other.token}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "token_mismatch"
    assert Bot.objects.get().token == tg_bot.token


def test_it_rotate_takes_a_new_token_of_the_same_bot(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    bot_id = connect(owner, token=tg_bot.token).json()["id"]
    new_token = standin.rotate_token(tg_bot.token)
    response = owner.api().post(f"/api/v1/bots/{bot_id}/rotate-token/", {"token": new_token}, format="json")
    assert response.status_code == 200
    assert Bot.objects.get().token == new_token
    assert standin.calls(new_token, "setWebhook")[-1].params["url"] == Bot.objects.get().proxy_url


def assert_original_restored(state: Any) -> None:
    assert state.webhook_url == ORIGINAL
    assert state.secret_token == "owner-secret_1"
    assert state.max_connections == 7
    assert state.allowed_updates == ["message", "callback_query"]
    assert state.ip_address == "203.0.113.9"


def test_it_disconnect_restores_the_original_field_by_field(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    bot_id = connect(owner, token=tg_bot.token, endpoint_secret="owner-secret_1").json()["id"]
    response = owner.api().post(f"/api/v1/bots/{bot_id}/disconnect/")
    assert response.json()["status"] == "disconnected"
    assert_original_restored(standin.bot(tg_bot.token))


def test_it_reconnect_points_the_webhook_back_at_the_proxy(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    bot_id = connect(owner, token=tg_bot.token).json()["id"]
    owner.api().post(f"/api/v1/bots/{bot_id}/disconnect/")
    response = owner.api().post(f"/api/v1/bots/{bot_id}/reconnect/")
    assert response.json()["status"] == "active"
    bot = Bot.objects.get()
    assert (standin.bot(tg_bot.token).webhook_url, standin.bot(tg_bot.token).secret_token) == (
        bot.proxy_url,
        bot.proxy_secret,
    )


def test_it_delete_restores_the_original_then_forgets_the_bot(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    bot_id = connect(owner, token=tg_bot.token, endpoint_secret="owner-secret_1").json()["id"]
    assert owner.api().delete(f"/api/v1/bots/{bot_id}/").status_code == 204
    assert_original_restored(standin.bot(tg_bot.token))
    assert not Bot.objects.exists()


def test_it_delete_restores_the_certificate(owner: Party, standin: StandIn) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIBexample\n-----END CERTIFICATE-----"
    cert_bot = standin.add_bot(username="cert_bot")
    telegram.set_webhook(cert_bot.token, url=ORIGINAL, certificate=pem.encode())
    bot_id = connect(owner, token=cert_bot.token, certificate=pem).json()["id"]
    assert standin.bot(cert_bot.token).has_custom_certificate is False  # our proxy needs none
    owner.api().delete(f"/api/v1/bots/{bot_id}/")
    state = standin.bot(cert_bot.token)
    assert (state.webhook_url, state.certificate) == (ORIGINAL, pem.encode())


def test_it_delete_removes_the_webhook_of_a_bot_that_had_none(owner: Party, standin: StandIn) -> None:
    polling = standin.add_bot(username="poll_bot")
    bot_id = connect(owner, token=polling.token, upstream_url="https://bot.example.com/new").json()["id"]
    owner.api().delete(f"/api/v1/bots/{bot_id}/")
    assert standin.bot(polling.token).webhook_url == ""
    assert standin.calls(polling.token, "deleteWebhook")


def test_it_delete_is_refused_while_telegram_is_unreachable(
    owner: Party, standin: StandIn, tg_bot: Any, settings: Any
) -> None:
    bot_id = connect(owner, token=tg_bot.token).json()["id"]
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"
    response = owner.api().delete(f"/api/v1/bots/{bot_id}/")
    assert response.status_code == 503
    assert "not deleted" in response.json()["detail"]
    assert Bot.objects.filter(uuid=bot_id).exists()


def test_it_manual_mode_shows_the_set_webhook_call(owner: Party) -> None:
    response = connect(owner, upstream_url="https://bot.example.com/hook", endpoint_secret="mine")
    assert response.status_code == 201
    body = response.json()
    assert (body["mode"], body["status"]) == ("manual", "waiting")
    assert body["proxy_secret"] in body["set_webhook_command"]
    assert body["proxy_url"] in body["set_webhook_command"]
    assert "<TOKEN>" in body["set_webhook_command"]
    assert set(body["unavailable_features"]) == {"user_notices", "maintenance_bypass", "webhook_health_checks"}


def test_it_no_answer_or_log_line_contains_a_secret(
    owner: Party, standin: StandIn, tg_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [tg_bot.token, "owner-secret_1", "mp-token-123"]
    answers = [connect(owner, token=tg_bot.token, endpoint_secret="owner-secret_1", mixpanel_token="mp-token-123")]
    bot_id = answers[0].json()["id"]
    answers.append(owner.api().get(f"/api/v1/bots/{bot_id}/"))
    answers.append(owner.api().get("/api/v1/bots/"))
    answers.append(owner.api().post(f"/api/v1/bots/{bot_id}/disconnect/"))
    answers.append(owner.api().post(f"/api/v1/bots/{bot_id}/rotate-token/", {"token": "1:bad"}, format="json"))
    for secret in secrets:
        assert secret not in caplog.text
        for answer in answers:
            assert secret not in answer.content.decode()


def test_it_an_error_message_never_holds_the_token(settings: Any) -> None:
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"
    token = "123456:AAsecretsecretsecretsecretsecretsec"
    with pytest.raises(TelegramUnavailable) as caught:
        telegram.get_me(token)
    assert token not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "rotate-token/"),
        ("post", "disconnect/"),
        ("post", "reconnect/"),
    ],
)
def test_it_an_outsider_gets_404(owner: Party, outsider: Party, method: str, path: str) -> None:
    bot_id = connect(owner, upstream_url="https://bot.example.com/hook").json()["id"]
    response = getattr(outsider.api(), method)(f"/api/v1/bots/{bot_id}/{path}", {"token": "1:x"}, format="json")
    assert response.status_code == 404
    assert Bot.objects.filter(uuid=bot_id).exists()


def test_it_the_list_shows_only_the_tenants_bots(owner: Party, outsider: Party) -> None:
    connect(owner, upstream_url="https://bot.example.com/a")
    connect(outsider, upstream_url="https://bot.example.com/b")
    listed = owner.api().get("/api/v1/bots/").json()["results"]
    assert [bot["upstream_url"] for bot in listed] == ["https://bot.example.com/a"]


@override_settings(ALLOW_PRIVATE_UPSTREAMS=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://bot.example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://192.168.1.2/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://user:pw@1.1.1.1/hook",
    ],
)
def test_it_the_guard_refuses_endpoints_inside_our_network(url: str) -> None:
    from botpresto.core.errors import ApplicationError
    from botpresto.core.urlguard import upstream_url_check

    with pytest.raises(ApplicationError):
        upstream_url_check(url)


@override_settings(ALLOW_PRIVATE_UPSTREAMS=False)
def test_it_the_guard_accepts_a_public_https_endpoint() -> None:
    from botpresto.core.urlguard import upstream_url_check

    assert upstream_url_check("https://1.1.1.1:8443/hook") == "https://1.1.1.1:8443/hook"


def test_it_disconnect_leaves_a_webhook_someone_else_took(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    bot_id = connect(owner, token=tg_bot.token).json()["id"]
    telegram.set_webhook(tg_bot.token, url="https://elsewhere.example.com/hook")
    Bot.objects.filter(uuid=bot_id).update(status=Bot.Status.WEBHOOK_CHANGED)
    assert owner.api().post(f"/api/v1/bots/{bot_id}/disconnect/").json()["status"] == "disconnected"
    assert standin.bot(tg_bot.token).webhook_url == "https://elsewhere.example.com/hook"


def test_it_disconnect_with_a_revoked_token_asks_for_the_new_one(owner: Party, standin: StandIn, tg_bot: Any) -> None:
    bot_id = connect(owner, token=tg_bot.token).json()["id"]
    Bot.objects.filter(uuid=bot_id).update(status=Bot.Status.TOKEN_REVOKED)
    response = owner.api().post(f"/api/v1/bots/{bot_id}/disconnect/")
    assert response.status_code == 400
    assert "new token" in response.json()["detail"]


def test_it_connecting_past_the_bots_limit_is_a_conflict_that_says_so(owner: Party, settings: Any) -> None:
    settings.BOTS_PER_TENANT_MAX = 2
    for n in range(2):
        bot_make(owner.tenant, username=f"bot{n}")
    response = connect(owner, upstream_url="https://bot.example.com/manual")
    assert response.status_code == 409
    assert response.json()["code"] == "bot_limit_reached"
    assert "has 2 bots, the most one organisation may have" in response.json()["detail"]
    assert Bot.objects.filter(tenant=owner.tenant).count() == 2


def test_it_the_bots_limit_counts_only_the_tenants_own_bots(owner: Party, outsider: Party, settings: Any) -> None:
    settings.BOTS_PER_TENANT_MAX = 1
    bot_make(outsider.tenant)
    assert connect(owner, upstream_url="https://bot.example.com/manual").status_code == 201
