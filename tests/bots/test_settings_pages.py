"""A bot's settings page: token, endpoint, notices, Mixpanel, disconnect, reconnect, delete."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.views.debug import SafeExceptionReporterFilter

from botpresto.bots.models import Bot
from botpresto.core.telegram import telegram
from botpresto.devtools.standin import StandIn
from botpresto.notifications.notices import DEFAULT_NOTICES
from tests.conftest import Party
from tests.factories import bot_make
from tests.html import assert_no_secrets, field_errors

pytestmark = pytest.mark.django_db
ORIGINAL = "https://bot.example.com/telegram/hook"
MIXPANEL = "mixpanel0123456789abcdef"


@pytest.fixture(autouse=True)
def _endpoints_need_no_dns(settings: Any) -> None:
    # bot.example.com does not resolve here; the guard has tests of its own.
    settings.ALLOW_PRIVATE_UPSTREAMS = True


@pytest.fixture
def tg_bot(standin: StandIn) -> Any:
    return standin.add_bot(username="shop_bot", webhook_url=ORIGINAL, secret_token="owner-secret_1")


@pytest.fixture
def connected(owner_client: Client, tg_bot: Any) -> Bot:
    owner_client.post("/bots/connect/", {"token": tg_bot.token, "endpoint_secret": "owner-secret_1"})
    return Bot.objects.get()


def settings_url(bot: Bot, action: str = "") -> str:
    return f"/bots/{bot.uuid}/settings/{action}"


# Token


def test_it_rotating_takes_the_new_token(owner_client: Client, standin: StandIn, tg_bot: Any, connected: Bot) -> None:
    new_token = standin.rotate_token(tg_bot.token)
    response = owner_client.post(settings_url(connected, "token/"), {"token": new_token}, follow=True)
    assert "Token replaced" in response.content.decode()
    assert Bot.objects.get().token == new_token
    assert standin.bot(new_token).webhook_url == connected.proxy_url
    assert_no_secrets(response.content.decode(), new_token, tg_bot.token)


def test_it_rotating_shows_another_bots_token_refused_next_to_the_field(
    owner_client: Client, standin: StandIn, tg_bot: Any, connected: Bot
) -> None:
    other = standin.add_bot(username="other_bot")
    html = owner_client.post(settings_url(connected, "token/"), {"token": other.token}).content.decode()
    assert "belongs to another bot" in field_errors(html, "token")
    assert Bot.objects.get().token == tg_bot.token
    assert_no_secrets(html, other.token, tg_bot.token)


def test_it_a_manual_bot_has_no_token_form(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, status=Bot.Status.WAITING, token=None, telegram_id=None)
    html = owner_client.get(settings_url(bot)).content.decode()
    assert 'id="token"' not in html
    assert 'id="notices"' not in html


# Endpoint


def test_it_saves_a_new_endpoint_and_keeps_the_secret(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, endpoint_secret="kept_secret")
    owner_client.post(settings_url(bot, "endpoint/"), {"upstream_url": "https://bot.example.com/v2"})
    bot.refresh_from_db()
    assert (bot.upstream_url, bot.endpoint_secret) == ("https://bot.example.com/v2", "kept_secret")


def test_it_removes_the_endpoint_secret(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, endpoint_secret="old_secret")
    data = {"upstream_url": bot.upstream_url, "clear_endpoint_secret": "on"}
    owner_client.post(settings_url(bot, "endpoint/"), data)
    bot.refresh_from_db()
    assert bot.endpoint_secret is None


def test_it_shows_a_bad_endpoint_next_to_its_field(owner: Party, owner_client: Client, settings: Any) -> None:
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    bot = bot_make(owner.tenant)
    html = owner_client.post(settings_url(bot, "endpoint/"), {"upstream_url": "http://10.0.0.8/hook"}).content.decode()
    assert "must start with https://" in field_errors(html, "upstream_url")
    bot.refresh_from_db()
    assert bot.upstream_url == "https://bot.example.com/hook"


def test_it_shows_a_malformed_endpoint_secret_next_to_its_field(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    data = {"upstream_url": bot.upstream_url, "endpoint_secret": "has spaces!"}
    html = owner_client.post(settings_url(bot, "endpoint/"), data).content.decode()
    assert "letters, digits, _ and -" in field_errors(html, "endpoint_secret")
    assert "has spaces!" not in html


# Mixpanel


def test_it_shows_only_whether_a_mixpanel_token_is_set(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, mixpanel_token=MIXPANEL)
    html = owner_client.get(settings_url(bot)).content.decode()
    assert "Mixpanel token: <strong>set</strong>" in html
    assert MIXPANEL not in html


def test_it_replaces_the_mixpanel_token(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, mixpanel_token=MIXPANEL)
    response = owner_client.post(settings_url(bot, "mixpanel/"), {"mixpanel_token": "newtoken42"}, follow=True)
    bot.refresh_from_db()
    assert bot.mixpanel_token == "newtoken42"
    assert_no_secrets(response.content.decode(), MIXPANEL, "newtoken42")


def test_it_clears_the_mixpanel_token(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant, mixpanel_token=MIXPANEL)
    owner_client.post(settings_url(bot, "mixpanel/"), {"clear": "1"})
    bot.refresh_from_db()
    assert bot.mixpanel_token is None


# Notices


def notices_data(**overrides: str) -> dict[str, str]:
    return {"notices_enabled": "on", "notice_default_language": "en", **overrides}


def test_it_saves_a_notice_text_per_language(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    data = notices_data(text_de="Kurz weg, gleich zurück.", notice_default_language="de", action="save")
    owner_client.post(settings_url(bot, "notices/"), data)
    bot.refresh_from_db()
    assert bot.notice_texts == {"de": "Kurz weg, gleich zurück."}
    assert bot.notice_default_language == "de"


def test_it_turns_notices_off(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    owner_client.post(settings_url(bot, "notices/"), {"notice_default_language": "en", "action": "save"})
    bot.refresh_from_db()
    assert bot.notices_enabled is False


def test_it_a_preview_shows_the_unsaved_text_without_saving_it(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    data = notices_data(text_fr="On revient vite !", action="preview")
    html = owner_client.post(settings_url(bot, "notices/"), data).content.decode()
    assert "Preview (not saved yet)" in html
    assert '<p class="bubble" lang="fr" dir="auto">On revient vite !</p>' in html
    bot.refresh_from_db()
    assert bot.notice_texts == {}


def test_it_the_preview_shows_the_default_where_no_text_is_set(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    html = owner_client.get(settings_url(bot)).content.decode()
    assert DEFAULT_NOTICES["fa"] in html


def test_it_turns_on_were_back_with_a_text_of_the_owners(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    assert bot.back_enabled is False  # off unless the owner asks
    data = notices_data(back_enabled="on", back_de="Wieder da!", action="save")
    owner_client.post(settings_url(bot, "notices/"), data)
    bot.refresh_from_db()
    assert (bot.back_enabled, bot.back_texts) == (True, {"de": "Wieder da!"})


def test_it_a_were_back_text_too_long_is_refused_next_to_it(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    html = owner_client.post(settings_url(bot, "notices/"), notices_data(back_en="x" * 201)).content.decode()
    assert "at most 200 characters" in field_errors(html, "back_en")


def test_it_a_notice_too_long_for_telegram_is_refused(owner: Party, owner_client: Client) -> None:
    bot = bot_make(owner.tenant)
    html = owner_client.post(settings_url(bot, "notices/"), notices_data(text_en="x" * 201)).content.decode()
    assert "at most 200 characters" in field_errors(html, "text_en")
    bot.refresh_from_db()
    assert bot.notice_texts == {}


# Connection


def test_it_disconnecting_restores_the_original_webhook(
    owner_client: Client, standin: StandIn, tg_bot: Any, connected: Bot
) -> None:
    response = owner_client.post(f"/bots/{connected.uuid}/disconnect/", follow=True)
    assert "Disconnected" in response.content.decode()
    assert (standin.bot(tg_bot.token).webhook_url, standin.bot(tg_bot.token).secret_token) == (
        ORIGINAL,
        "owner-secret_1",
    )
    assert Bot.objects.get().status == Bot.Status.DISCONNECTED


def test_it_reconnecting_points_the_webhook_back_at_the_proxy(
    owner_client: Client, standin: StandIn, tg_bot: Any, connected: Bot
) -> None:
    owner_client.post(f"/bots/{connected.uuid}/disconnect/")
    owner_client.post(f"/bots/{connected.uuid}/reconnect/")
    assert standin.bot(tg_bot.token).webhook_url == connected.proxy_url
    assert Bot.objects.get().status == Bot.Status.ACTIVE


def test_it_one_click_adopts_a_webhook_changed_meanwhile(
    owner_client: Client, standin: StandIn, tg_bot: Any, connected: Bot
) -> None:
    telegram.set_webhook(tg_bot.token, url="https://bot.example.com/v2")
    Bot.objects.filter(id=connected.id).update(status=Bot.Status.WEBHOOK_CHANGED)
    html = owner_client.get(settings_url(connected)).content.decode()
    assert "Reconnect, forwarding to the new webhook" in html
    owner_client.post(f"/bots/{connected.uuid}/reconnect/", {"adopt": "1"})
    bot = Bot.objects.get()
    assert (bot.status, bot.upstream_url, bot.original_url) == (
        Bot.Status.ACTIVE,
        "https://bot.example.com/v2",
        "https://bot.example.com/v2",
    )
    assert standin.bot(tg_bot.token).webhook_url == bot.proxy_url


def test_it_telegram_unreachable_leaves_the_bot_connected(owner_client: Client, connected: Bot, settings: Any) -> None:
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = owner_client.post(f"/bots/{connected.uuid}/disconnect/", follow=True)
    assert "Telegram cannot be reached right now" in response.content.decode()
    assert Bot.objects.get().status == Bot.Status.ACTIVE


# Delete


def test_it_the_delete_page_says_the_original_webhook_comes_back(owner_client: Client, connected: Bot) -> None:
    html = owner_client.get(f"/bots/{connected.uuid}/delete/").content.decode()
    assert "The original webhook will be restored first" in html
    assert ORIGINAL in html


def test_it_deleting_restores_the_webhook_and_forgets_the_bot(
    owner_client: Client, standin: StandIn, tg_bot: Any, connected: Bot
) -> None:
    response = owner_client.post(f"/bots/{connected.uuid}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == "/bots/"
    assert not Bot.objects.exists()
    assert standin.bot(tg_bot.token).webhook_url == ORIGINAL


def test_it_a_delete_telegram_refuses_keeps_the_bot(owner_client: Client, connected: Bot, settings: Any) -> None:
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"
    html = owner_client.post(f"/bots/{connected.uuid}/delete/").content.decode()
    assert "The bot was not deleted" in html
    assert Bot.objects.exists()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/bots/connect/", {"token": "7000:AAsecret", "endpoint_secret": "ends", "mixpanel_token": "mpsecret"}),
        ("/bots/connect/manual/", {"upstream_url": "https://x.example/", "endpoint_secret": "ends"}),
        ("/bots/{uuid}/settings/token/", {"token": "7000:AAsecret"}),
        ("/bots/{uuid}/settings/endpoint/", {"upstream_url": "https://x.example/", "endpoint_secret": "ends"}),
        ("/bots/{uuid}/settings/mixpanel/", {"mixpanel_token": "mpsecret"}),
    ],
)
def test_it_an_error_report_never_shows_a_posted_token_or_secret(
    owner: Party, owner_client: Client, settings: Any, path: str, fields: dict[str, str]
) -> None:
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"  # nothing listens: the connect fails fast
    bot = bot_make(owner.tenant)
    response = owner_client.post(path.format(uuid=bot.uuid), fields)
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    for name, value in fields.items():
        if name != "upstream_url":
            assert shown[name] != value
