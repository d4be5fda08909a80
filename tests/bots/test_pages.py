"""The owner's pages: dashboard, connect, manual set-up and a bot's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from analytics.models import BotHourlyStats, EndUser
from botpresto.bots.models import Bot
from botpresto.core.telegram import telegram
from botpresto.devtools.standin import StandIn
from tests.conftest import Party
from tests.factories import bot_make
from tests.html import assert_no_secrets, field_errors

pytestmark = pytest.mark.django_db
ORIGINAL = "https://bot.example.com/telegram/hook"
ENDPOINT_SECRET = "owner-endpoint-secret_42"
MIXPANEL = "mixpanel0123456789abcdef"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZmFrZQ==\n-----END CERTIFICATE-----"


# Dashboard


def test_it_lists_the_tenants_bots_with_their_status(owner: Party, owner_client: Client) -> None:
    bot_make(owner.tenant, username="shop_bot", endpoint_failing_since=timezone.now())
    html = owner_client.get("/bots/").content.decode()
    assert "@shop_bot" in html
    assert "Endpoint failing" in html


def test_it_tells_what_to_do_about_a_revoked_token(owner: Party, owner_client: Client) -> None:
    bot_make(owner.tenant, status=Bot.Status.TOKEN_REVOKED)
    assert "Paste the new one from @BotFather" in owner_client.get("/bots/").content.decode()


def test_it_tells_a_manual_owner_to_run_the_command(owner: Party, owner_client: Client) -> None:
    bot_make(owner.tenant, mode=Bot.Mode.MANUAL, status=Bot.Status.WAITING, token=None, telegram_id=None)
    assert "Run the setWebhook command" in owner_client.get("/bots/").content.decode()


def test_it_shows_updates_and_failure_rate_of_the_last_24_hours(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    BotHourlyStats.objects.create(bot=bot, hour=hour, updates=40, attempts=50, failures=10)
    BotHourlyStats.objects.create(bot=bot, hour=hour - timedelta(days=2), updates=999, attempts=999)
    html = owner_client.get("/bots/").content.decode()
    assert '40 <span class="muted">· 20% failed' in html


def test_it_the_bot_page_charts_its_activity(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    BotHourlyStats.objects.create(
        bot=bot, hour=hour, updates=7, attempts=7, by_type={"message": 5, "callback_query": 2}, commands={"start": 3}
    )
    html = owner_client.get(f"/bots/{bot.uuid}/?period=7d").content.decode()
    assert html.count("<svg") == 4
    assert "Updates per hour by type" in html
    assert "/start" in html


def test_it_the_end_users_page_lists_and_exports_them(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    now = timezone.now()
    EndUser.objects.create(
        bot=bot, telegram_id=11, first_name="Ann", username="ann", language_code="de", first_seen=now, last_seen=now
    )
    EndUser.objects.create(
        bot=bot, telegram_id=12, first_name="Bolek", language_code="pt-br", first_seen=now, last_seen=now
    )
    html = owner_client.get(f"/bots/{bot.uuid}/users/?language=de").content.decode()
    assert "@ann" in html
    assert "Bolek" not in html
    csv_text = b"".join(owner_client.get(f"/bots/{bot.uuid}/users/?format=csv").streaming_content).decode()
    assert csv_text.splitlines()[0].startswith("telegram_id,")
    assert len(csv_text.splitlines()) == 3


def test_it_an_outsider_cannot_see_a_bots_end_users(owner: Party, outsider_client: Client) -> None:
    bot = bot_make(owner.tenant)
    assert outsider_client.get(f"/bots/{bot.uuid}/users/").status_code == 404
    assert outsider_client.get(f"/bots/{bot.uuid}/users/?format=csv").status_code == 404


def test_it_shows_no_bot_of_another_tenant(owner: Party, outsider_client: Client) -> None:
    bot_make(owner.tenant, username="shop_bot")
    assert "shop_bot" not in outsider_client.get("/bots/").content.decode()


def test_it_a_member_sees_the_tenants_bots(owner: Party, member: Party, client: Client) -> None:
    bot_make(owner.tenant, username="shop_bot")
    client.force_login(member.user)
    assert "@shop_bot" in client.get("/bots/").content.decode()


def test_it_invites_to_connect_a_first_bot(owner_client: Client) -> None:
    assert 'href="/bots/connect/manual/"' in owner_client.get("/bots/").content.decode()


def test_it_the_dashboard_needs_a_login(client: Client) -> None:
    assert client.get("/bots/").url.startswith("/accounts/login/")


# Connecting with the token


def test_it_shows_telegrams_refusal_next_to_the_token_field(
    owner: Party, owner_client: Client, standin: StandIn
) -> None:
    token = "123456:AAnot-a-real-token_at-all"
    html = owner_client.post("/bots/connect/", {"token": token}).content.decode()
    assert "invalid or was revoked" in field_errors(html, "token")
    assert_no_secrets(html, token)
    assert not Bot.objects.exists()


def test_it_asks_for_the_endpoint_of_a_polling_bot_next_to_its_field(owner_client: Client, standin: StandIn) -> None:
    polling = standin.add_bot(username="poll_bot")
    html = owner_client.post("/bots/connect/", {"token": polling.token}).content.decode()
    assert "tell us your endpoint's URL" in field_errors(html, "upstream_url")
    assert not Bot.objects.exists()


def test_it_a_failed_connect_renders_no_secret_back(owner_client: Client, standin: StandIn) -> None:
    polling = standin.add_bot(username="poll_bot")
    data = {"token": polling.token, "endpoint_secret": ENDPOINT_SECRET, "mixpanel_token": MIXPANEL}
    html = owner_client.post("/bots/connect/", data).content.decode()
    assert "upstream_url" in html
    assert_no_secrets(html, polling.token, ENDPOINT_SECRET, MIXPANEL)


def test_it_connecting_points_the_webhook_at_the_proxy(owner_client: Client, standin: StandIn) -> None:
    tg_bot = standin.add_bot(username="shop_bot", webhook_url=ORIGINAL)
    response = owner_client.post("/bots/connect/", {"token": tg_bot.token}, follow=True)
    bot = Bot.objects.get()
    assert response.redirect_chain[-1][0] == f"/bots/{bot.uuid}/"
    assert standin.bot(tg_bot.token).webhook_url == bot.proxy_url
    assert "@shop_bot is connected" in response.content.decode()


def test_it_connecting_keeps_the_secrets_out_of_the_next_page(owner_client: Client, standin: StandIn) -> None:
    tg_bot = standin.add_bot(username="shop_bot", webhook_url=ORIGINAL)
    data = {"token": tg_bot.token, "endpoint_secret": ENDPOINT_SECRET, "mixpanel_token": MIXPANEL}
    html = owner_client.post("/bots/connect/", data, follow=True).content.decode()
    assert_no_secrets(html, tg_bot.token, ENDPOINT_SECRET, MIXPANEL)
    bot = Bot.objects.get()
    assert (bot.endpoint_secret, bot.mixpanel_token) == (ENDPOINT_SECRET, MIXPANEL)


def test_it_an_uploaded_certificate_is_kept_as_text(owner_client: Client, standin: StandIn) -> None:
    tg_bot = standin.add_bot(username="cert_bot")
    telegram.set_webhook(tg_bot.token, url=ORIGINAL, certificate=PEM.encode())
    upload = SimpleUploadedFile("cert.pem", PEM.encode(), content_type="application/x-pem-file")
    owner_client.post("/bots/connect/", {"token": tg_bot.token, "certificate": upload})
    assert Bot.objects.get().certificate == PEM


def test_it_a_missing_certificate_is_asked_for_next_to_its_field(owner_client: Client, standin: StandIn) -> None:
    tg_bot = standin.add_bot(username="cert_bot")
    telegram.set_webhook(tg_bot.token, url=ORIGINAL, certificate=PEM.encode())
    html = owner_client.post("/bots/connect/", {"token": tg_bot.token}).content.decode()
    assert "self-signed certificate: upload it" in field_errors(html, "certificate")


def test_it_a_private_key_is_refused_as_a_certificate(owner_client: Client) -> None:
    key = b"-----BEGIN CERTIFICATE-----\n...\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
    upload = SimpleUploadedFile("both.pem", key)
    html = owner_client.post("/bots/connect/", {"token": "1:a", "certificate": upload}).content.decode()
    assert "never the private key" in field_errors(html, "certificate")
    assert "MIIE" not in html


# Manual mode


def test_it_manual_connect_shows_the_proxy_url_and_the_command(owner_client: Client, settings: Any) -> None:
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    data = {"upstream_url": "https://bot.example.com/hook", "endpoint_secret": ENDPOINT_SECRET, "username": "@man_bot"}
    response = owner_client.post("/bots/connect/manual/", data, follow=True)
    bot = Bot.objects.get()
    html = response.content.decode()
    assert bot.proxy_url in html
    assert str(bot.proxy_secret) in html
    assert "/bot&lt;TOKEN&gt;/setWebhook" in html
    assert 'data-copy="set-webhook-command"' in html
    assert_no_secrets(html, ENDPOINT_SECRET)


def test_it_manual_connect_shows_a_bad_endpoint_next_to_its_field(owner_client: Client) -> None:
    html = owner_client.post("/bots/connect/manual/", {"upstream_url": "ftp://bot.example.com/hook"}).content.decode()
    assert "must start with https://" in field_errors(html, "upstream_url")
    assert not Bot.objects.exists()


def test_it_a_token_mode_bot_has_no_set_up_page(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    assert owner_client.get(f"/bots/{bot.uuid}/setup/").status_code == 404


# A bot's page


def test_it_the_bot_page_shows_where_updates_go(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, upstream_url="https://bot.example.com/new", original_url=ORIGINAL)
    html = owner_client.get(f"/bots/{bot.uuid}/").content.decode()
    assert bot.proxy_url in html
    assert "https://bot.example.com/new" in html
    assert ORIGINAL in html


def test_it_the_bot_page_shows_what_telegram_last_reported(owner: Party, owner_client: Client) -> None:
    info = {
        "url": "x",
        "pending_update_count": 17,
        "last_error_date": 1_790_000_000,
        "last_error_message": "Read timeout expired",
    }
    bot = bot_make(owner.tenant, webhook_info=info)
    html = owner_client.get(f"/bots/{bot.uuid}/").content.decode()
    assert "<dd>17</dd>" in html
    assert "2026-09-21 14:13 UTC" in html
    assert "Read timeout expired" in html


def test_it_the_bot_page_tells_what_to_do_when_the_webhook_changed(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, status=Bot.Status.WEBHOOK_CHANGED)
    html = owner_client.get(f"/bots/{bot.uuid}/").content.decode()
    assert "Someone pointed the webhook elsewhere" in html
    assert "Reconnect, forwarding to the new webhook" in html


def test_it_the_bot_page_has_no_charts_yet(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    html = owner_client.get(f"/bots/{bot.uuid}/").content.decode()
    assert 'id="activity"' in html
    assert "<svg" not in html
    assert "<canvas" not in html


def test_it_no_page_shows_a_bots_secrets(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, endpoint_secret=ENDPOINT_SECRET, mixpanel_token=MIXPANEL)
    for path in ("/bots/", f"/bots/{bot.uuid}/", f"/bots/{bot.uuid}/settings/", f"/bots/{bot.uuid}/delete/"):
        html = owner_client.get(path).content.decode()
        assert_no_secrets(html, str(bot.token), ENDPOINT_SECRET, MIXPANEL, str(bot.proxy_secret))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("get", "settings/"),
        ("get", "delete/"),
        ("post", "settings/token/"),
        ("post", "settings/endpoint/"),
        ("post", "settings/mixpanel/"),
        ("post", "settings/notices/"),
        ("post", "disconnect/"),
        ("post", "reconnect/"),
        ("post", "delete/"),
    ],
)
def test_it_an_outsider_gets_404_for_a_bot_of_another_tenant(
    owner: Party, outsider_client: Client, method: str, path: str
) -> None:
    bot = bot_make(owner.tenant, mixpanel_token=MIXPANEL)
    response = getattr(outsider_client, method)(
        f"/bots/{bot.uuid}/{path}", {"clear": "1", "token": "1:x", "upstream_url": "x"}
    )
    assert response.status_code == 404
    after = Bot.objects.get(id=bot.id)
    assert (after.status, after.mixpanel_token) == (Bot.Status.ACTIVE, MIXPANEL)


def test_it_an_outsider_gets_404_for_the_set_up_page_of_another_tenant(owner: Party, outsider_client: Client) -> None:
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, status=Bot.Status.WAITING, token=None, telegram_id=None)
    response = outsider_client.get(f"/bots/{bot.uuid}/setup/")
    assert response.status_code == 404
    assert str(bot.proxy_secret) not in response.content.decode()
