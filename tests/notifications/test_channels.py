"""Owner alerts by email, on Telegram through the operator's alert bot, and to an organisation's webhook."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from standardwebhooks.webhooks import Webhook

from botpresto.bots.models import Bot
from botpresto.devtools.standin import StandIn
from botpresto.notifications import services
from botpresto.notifications.alerts import alert_record, alert_send
from botpresto.notifications.channels import ChannelUnavailable
from botpresto.notifications.models import AlertChannels, AlertWebhook, OwnerAlert, TelegramLink
from tests.conftest import Party
from tests.factories import bot_make
from tests.proxy.endpoints import Endpoint, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert_bot(standin: StandIn, settings: Any) -> Any:
    state = standin.add_bot(username="presto_alerts_bot")
    settings.ALERT_BOT_TOKEN = state.token
    return state


@pytest.fixture
def bot(owner: Party) -> Bot:
    return bot_make(owner.tenant, username="shop_bot")


@pytest.fixture
def hook_endpoint(settings: Any) -> Any:
    settings.ALLOW_PRIVATE_UPSTREAMS = True  # the endpoint is on loopback here; the guard's own test is below
    server = Endpoint()
    yield server
    server.stop()


def alert(owner: Party, bot: Bot, kind: str = OwnerAlert.Kind.FAILING) -> OwnerAlert:
    details = {"since": time.time() - 60, "error": "connect", "status": None, "failures": 3}
    if kind == OwnerAlert.Kind.RECOVERED:
        details = {"since": time.time() - 60, "until": time.time(), "held": 2}
    alert_record(tenant_id=owner.tenant.id, bot_id=bot.id, kind=kind, details=details)
    return OwnerAlert.objects.latest("id")


def linked(owner: Party, chat_id: int = 4242) -> None:
    AlertChannels.objects.update_or_create(user=owner.user, defaults={"telegram_chat_id": chat_id})


def alert_bot_post(client: Client, update: dict[str, Any], secret: str | None = None) -> Any:
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": services.alert_bot_secret() if secret is None else secret}
    return client.post("/alert-bot/webhook/", json.dumps(update), content_type="application/json", **headers)


def start(text: str, chat_id: int = 4242) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Alice", "username": "alice"}
    return {
        "update_id": 1,
        "message": {"message_id": 1, "date": 1, "chat": {"id": chat_id, "type": "private"}, "from": user, "text": text},
    }


# --- choosing --------------------------------------------------------------------------------
def test_it_an_owner_gets_every_kind_by_email_until_they_choose(owner: Party, bot: Bot) -> None:
    alert_send(alert_id=alert(owner, bot).id)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_it_an_owner_chooses_which_kinds_come_by_email(owner: Party, bot: Bot) -> None:
    services.alert_channels_update(user=owner.user, email_kinds=["failing"])
    alert_send(alert_id=alert(owner, bot, OwnerAlert.Kind.RECOVERED).id)
    assert mail.outbox == []
    alert_send(alert_id=alert(owner, bot).id)
    assert len(mail.outbox) == 1


def test_it_an_unknown_kind_is_refused(owner: Party) -> None:
    from botpresto.core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        services.alert_channels_update(user=owner.user, telegram_kinds=["everything"])


def test_it_the_profile_page_saves_the_choice(owner: Party, client: Client) -> None:
    client.force_login(owner.user)
    client.post("/accounts/profile/", {"action": "save", "email_kinds": ["failing", "maintenance"]})
    assert AlertChannels.objects.get(user=owner.user).email_kinds == ["failing", "maintenance"]


def test_it_the_api_shows_and_changes_the_key_makers_choice(owner: Party) -> None:
    response = owner.api().patch("/api/v1/alerts/channels/", {"telegram_kinds": ["token_revoked"]}, format="json")
    assert response.json()["telegram_kinds"] == ["token_revoked"]
    assert response.json()["telegram_linked"] is False
    assert AlertChannels.objects.get(user=owner.user).telegram_kinds == ["token_revoked"]


# --- Telegram ----------------------------------------------------------------------------------
def test_it_a_linked_owner_gets_the_alert_from_the_alert_bot(
    owner: Party, bot: Bot, standin: StandIn, alert_bot: Any
) -> None:
    standin.add_chat(alert_bot.token, {"id": 4242, "type": "private"})
    linked(owner)
    alert_send(alert_id=alert(owner, bot).id)
    [call] = standin.calls(alert_bot.token, "sendMessage")
    assert int(call.params["chat_id"]) == 4242
    assert call.params["text"].startswith("@shop_bot: your endpoint is failing")
    assert len(mail.outbox) == 1  # and by email, as chosen


def test_it_telegram_only_gets_the_kinds_chosen_for_it(
    owner: Party, bot: Bot, standin: StandIn, alert_bot: Any
) -> None:
    linked(owner)
    services.alert_channels_update(user=owner.user, telegram_kinds=["recovered"])
    alert_send(alert_id=alert(owner, bot).id)
    assert standin.calls(alert_bot.token, "sendMessage") == []


def test_it_an_owner_who_blocked_the_alert_bot_is_unlinked(
    owner: Party, bot: Bot, standin: StandIn, alert_bot: Any
) -> None:
    standin.add_chat(alert_bot.token, {"id": 4242, "type": "private"})
    standin.block_chat(alert_bot.token, 4242)
    linked(owner)
    alert_send(alert_id=alert(owner, bot).id)
    assert AlertChannels.objects.get(user=owner.user).telegram_chat_id is None
    assert OwnerAlert.objects.get().sent_at is not None


def test_it_the_profile_page_makes_a_one_time_deep_link(owner: Party, client: Client, alert_bot: Any) -> None:
    client.force_login(owner.user)
    html = client.post("/accounts/profile/", {"action": "link"}).content.decode()
    assert "https://t.me/presto_alerts_bot?start=" in html
    token = html.split("https://t.me/presto_alerts_bot?start=")[1].split('"')[0]
    assert token not in json.dumps(list(TelegramLink.objects.values()), default=str)  # only its hash is kept


def test_it_starting_the_alert_bot_with_the_link_links_the_chat(owner: Party, client: Client, alert_bot: Any) -> None:
    link = services.telegram_link_create(user=owner.user)
    reply = alert_bot_post(client, start("/start " + link.split("start=")[1])).json()
    assert (reply["method"], reply["chat_id"]) == ("sendMessage", 4242)
    assert "alice@example.com" in reply["text"]
    channels = AlertChannels.objects.get(user=owner.user)
    assert (channels.telegram_chat_id, channels.telegram_name) == (4242, "alice")


def test_it_a_link_works_once(owner: Party, client: Client, alert_bot: Any) -> None:
    token = services.telegram_link_create(user=owner.user).split("start=")[1]
    alert_bot_post(client, start("/start " + token))
    reply = alert_bot_post(client, start("/start " + token, chat_id=666)).json()
    assert "used already" in reply["text"]
    assert AlertChannels.objects.get(user=owner.user).telegram_chat_id == 4242


def test_it_an_old_link_does_not_work(owner: Party, client: Client, alert_bot: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    token = services.telegram_link_create(user=owner.user).split("start=")[1]
    TelegramLink.objects.update(created_at=timezone.now() - timedelta(hours=2))
    alert_bot_post(client, start("/start " + token))
    assert not AlertChannels.objects.filter(user=owner.user, telegram_chat_id__isnull=False).exists()


def test_it_the_alert_bot_refuses_a_wrong_secret(owner: Party, client: Client, alert_bot: Any) -> None:
    token = services.telegram_link_create(user=owner.user).split("start=")[1]
    assert alert_bot_post(client, start("/start " + token), secret="guess").status_code == 401
    assert not AlertChannels.objects.exists()


def test_it_stop_and_blocking_the_alert_bot_unlink(owner: Party, client: Client, alert_bot: Any) -> None:
    linked(owner)
    alert_bot_post(client, start("/stop"))
    assert AlertChannels.objects.get(user=owner.user).telegram_chat_id is None
    linked(owner)
    blocked = {
        "update_id": 2,
        "my_chat_member": {"chat": {"id": 4242, "type": "private"}, "new_chat_member": {"status": "kicked"}},
    }
    alert_bot_post(client, blocked)
    assert AlertChannels.objects.get(user=owner.user).telegram_chat_id is None


def test_it_without_an_alert_bot_its_webhook_does_not_exist(client: Client, settings: Any) -> None:
    settings.ALERT_BOT_TOKEN = ""
    assert alert_bot_post(client, start("/start x"), secret="").status_code == 404


# --- the organisation's webhook ------------------------------------------------------------------
def test_it_the_webhook_gets_a_signed_body_slack_and_discord_show(
    owner: Party, bot: Bot, hook_endpoint: Endpoint
) -> None:
    hook = services.alert_webhook_save(tenant=owner.tenant, url=hook_endpoint.url, kinds=["failing"])
    sent = alert(owner, bot)
    alert_send(alert_id=sent.id)
    [request] = hook_endpoint.received
    body = Webhook(str(hook.secret)).verify(request.body, request.headers)
    assert body["text"].startswith("@shop_bot: your endpoint is failing")
    assert body["content"] == body["text"]
    assert (body["event"]["kind"], body["event"]["bot"]["username"], body["event"]["id"]) == (
        "failing",
        "shop_bot",
        f"alert_{sent.id}",
    )
    assert request.headers["webhook-id"] == f"alert_{sent.id}"


def test_it_the_webhook_gets_only_its_kinds(owner: Party, bot: Bot, hook_endpoint: Endpoint) -> None:
    services.alert_webhook_save(tenant=owner.tenant, url=hook_endpoint.url, kinds=["recovered"])
    alert_send(alert_id=alert(owner, bot).id)
    assert hook_endpoint.received == []


def test_it_each_channel_gets_an_alert_once_when_one_fails_for_a_while(
    owner: Party, bot: Bot, hook_endpoint: Endpoint
) -> None:
    services.alert_webhook_save(tenant=owner.tenant, url=hook_endpoint.url)
    hook_endpoint.reply = Reply(503)
    sent = alert(owner, bot)
    with pytest.raises(ChannelUnavailable):
        alert_send(alert_id=sent.id)
    hook_endpoint.reply = Reply(200)
    alert_send(alert_id=sent.id)  # the task's retry
    assert len(mail.outbox) == 1
    assert [r.headers["webhook-id"] for r in hook_endpoint.received] == [f"alert_{sent.id}"] * 2
    assert OwnerAlert.objects.get().delivered == ["email:alice@example.com", "webhook"]


def test_it_a_refused_webhook_is_not_retried_and_says_why(owner: Party, bot: Bot, hook_endpoint: Endpoint) -> None:
    hook = services.alert_webhook_save(tenant=owner.tenant, url=hook_endpoint.url)
    hook_endpoint.reply = Reply(404)
    alert_send(alert_id=alert(owner, bot).id)
    hook.refresh_from_db()
    assert hook.last_status == "HTTP 404"
    assert OwnerAlert.objects.get().sent_at is not None


def test_it_a_webhook_on_a_private_address_is_refused_when_saved(owner: Party, client: Client) -> None:
    client.force_login(owner.user)
    html = client.post("/accounts/alert-webhook/", {"url": "https://10.0.0.7/hook", "kinds": ["failing"]})
    assert "private or reserved" in html.content.decode()
    assert not AlertWebhook.objects.exists()


def test_it_the_page_sends_a_test_and_makes_a_new_secret(owner: Party, client: Client, hook_endpoint: Endpoint) -> None:
    client.force_login(owner.user)
    client.post("/accounts/alert-webhook/", {"url": hook_endpoint.url, "kinds": ["failing"]})
    secret = str(AlertWebhook.objects.get().secret)
    client.post("/accounts/alert-webhook/", {"action": "test"})
    assert (
        Webhook(secret).verify(hook_endpoint.received[0].body, hook_endpoint.received[0].headers)["event"]["kind"]
        == "test"
    )
    client.post("/accounts/alert-webhook/", {"action": "rotate"})
    assert str(AlertWebhook.objects.get().secret) != secret


def test_it_the_api_shows_the_url_and_secret_to_owners_and_admins_only(
    owner: Party, viewer: Party, hook_endpoint: Endpoint
) -> None:
    response = owner.api().put("/api/v1/alerts/webhook/", {"url": hook_endpoint.url}, format="json")
    assert response.json()["secret"].startswith("whsec_")
    shown = viewer.api().get("/api/v1/alerts/webhook/").json()
    assert (shown["configured"], shown["url"], shown["secret"]) == (True, None, None)


def test_it_an_outsider_never_sees_the_webhook(owner: Party, outsider: Party, hook_endpoint: Endpoint) -> None:
    services.alert_webhook_save(tenant=owner.tenant, url=hook_endpoint.url)
    assert outsider.api().get("/api/v1/alerts/webhook/").json()["configured"] is False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_through_telegram_an_owner_links_the_alert_bot_and_gets_an_alert(
    owner: Party, bot: Bot, standin: StandIn, alert_bot: Any, live_server: Any, settings: Any, client: Client
) -> None:
    from django.core.management import call_command

    settings.PUBLIC_URL = live_server.url
    call_command("alert_bot_setup")
    assert standin.bot(alert_bot.token).webhook_url == f"{live_server.url}/alert-bot/webhook/"
    client.force_login(owner.user)
    html = client.post("/accounts/profile/", {"action": "link"}).content.decode()
    token = html.split("?start=")[1].split('"')[0]
    standin.push_update(alert_bot.token, {k: v for k, v in start("/start " + token).items() if k != "update_id"})
    standin.wait_idle(alert_bot.token)
    [welcome] = standin.calls(alert_bot.token, "sendMessage")
    assert (welcome.source, int(welcome.params["chat_id"])) == ("webhook_reply", 4242)
    alert_send(alert_id=alert(owner, bot).id)
    texts = [call.params["text"] for call in standin.calls(alert_bot.token, "sendMessage")]
    assert texts[-1].startswith("@shop_bot: your endpoint is failing")
    assert "Linked to <strong>alice</strong>" in client.get("/accounts/profile/").content.decode()


def test_it_making_a_link_leaves_the_choices_as_they_are(owner: Party, client: Client, alert_bot: Any) -> None:
    services.alert_channels_update(user=owner.user, email_kinds=["failing"])
    client.force_login(owner.user)
    html = client.post("/accounts/profile/", {"action": "link"}).content.decode()
    assert 'value="failing" id="id_email_kinds_0" checked' in html
    assert AlertChannels.objects.get(user=owner.user).email_kinds == ["failing"]


def test_it_a_new_webhook_gets_every_kind_unless_some_are_unticked(owner: Party, client: Client) -> None:
    client.force_login(owner.user)
    html = client.get("/accounts/alert-webhook/").content.decode()
    assert html.count(" checked") == len(OwnerAlert.Kind)
