"""Staff's bot admin: every change through the owners' services; bulk actions run in the background."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Tenant
from botpresto.bots.models import Bot, BotJob
from botpresto.devtools.standin import StandIn
from tests.bots.fleet import fleet_make, original_of
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast(settings: Any) -> None:
    settings.MAINTENANCE_CALLS_PER_SECOND = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_it_deleting_a_bot_in_the_admin_restores_its_webhook_first(
    owner: Party, standin: StandIn, admin_client: Client
) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    response = admin_client.post(f"/admin/botpresto/bot/{bot.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Bot.objects.filter(id=bot.id).exists()
    assert standin.bot(str(bot.token)).webhook_url == original_of(bot).url


def test_it_deleting_a_bot_in_the_admin_is_refused_while_telegram_is_away(
    owner: Party, standin: StandIn, admin_client: Client, settings: Any
) -> None:
    (bot,) = fleet_make(standin, owner.tenant, 1, start=1)
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"
    response = admin_client.post(f"/admin/botpresto/bot/{bot.id}/delete/", {"post": "yes"}, follow=True)
    assert "could not be restored" in response.content.decode()
    assert Bot.objects.filter(id=bot.id).exists()


def test_it_the_bulk_delete_of_the_admin_restores_each_webhook(
    owner: Party, standin: StandIn, admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    bots = fleet_make(standin, owner.tenant, 3, start=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/botpresto/bot/", {"action": "delete_selected_bots", "_selected_action": [b.id for b in bots]}
        )
    job = BotJob.objects.get()
    assert response["Location"] == f"/admin/botpresto/botjob/{job.id}/change/"
    assert not Bot.objects.exists()
    assert [standin.bot(str(b.token)).webhook_url for b in bots] == [original_of(b).url for b in bots]
    page = admin_client.get(response["Location"]).content.decode()
    assert "3 done, 0 left, 0 failed, 0 skipped" in page


def test_it_a_bulk_action_returns_at_once_and_shows_what_is_left(
    owner: Party, standin: StandIn, admin_client: Client
) -> None:
    bots = fleet_make(standin, owner.tenant, 2, start=1)
    # No worker runs here: the page answers before any bot is switched.
    admin_client.post("/admin/botpresto/bot/", {"action": "bypass_selected", "_selected_action": [b.id for b in bots]})
    job = BotJob.objects.get()
    page = admin_client.get(f"/admin/botpresto/botjob/{job.id}/change/").content.decode()
    assert "0 done, 2 left" in page
    assert [standin.bot(str(b.token)).webhook_url for b in bots] == [b.proxy_url for b in bots]


def test_it_the_default_bulk_delete_is_gone(owner: Party, admin_client: Client) -> None:
    bot_make(owner.tenant)
    page = admin_client.get("/admin/botpresto/bot/").content.decode()
    assert 'value="delete_selected"' not in page
    assert 'value="delete_selected_bots"' in page


def test_it_a_tenant_with_connected_bots_is_not_deleted(owner: Party, admin_client: Client) -> None:
    bot_make(owner.tenant)
    response = admin_client.post(f"/admin/accounts/tenant/{owner.tenant.id}/delete/", {"post": "yes"}, follow=True)
    assert "whose webhook we hold" in response.content.decode()
    assert Tenant.objects.filter(id=owner.tenant.id).exists()


def test_it_a_tenant_whose_bots_are_disconnected_is_deleted(owner: Party, admin_client: Client) -> None:
    bot_make(owner.tenant, status=Bot.Status.DISCONNECTED)
    admin_client.post(f"/admin/accounts/tenant/{owner.tenant.id}/delete/", {"post": "yes"})
    assert not Tenant.objects.filter(id=owner.tenant.id).exists()
    assert not Bot.objects.exists()


def test_it_staff_change_notices_and_the_endpoint_secret_through_the_service(
    owner: Party, admin_client: Client
) -> None:
    bot = bot_make(owner.tenant, endpoint_secret="old_secret")
    data = {"notices_enabled": "", "notice_default_language": "PT_br", "new_endpoint_secret": "new_secret-1"}
    response = admin_client.post(f"/admin/botpresto/bot/{bot.id}/change/", data)
    assert response.status_code == 302
    bot.refresh_from_db()
    assert (bot.notices_enabled, bot.notice_default_language, bot.endpoint_secret) == (False, "pt-br", "new_secret-1")


def test_it_staff_cannot_set_a_secret_telegram_would_refuse(owner: Party, admin_client: Client) -> None:
    bot = bot_make(owner.tenant, endpoint_secret="old_secret")
    data = {"notices_enabled": "on", "notice_default_language": "en", "new_endpoint_secret": "has spaces"}
    page = admin_client.post(f"/admin/botpresto/bot/{bot.id}/change/", data).content.decode()
    assert "letters, digits, _ and -" in page
    assert Bot.objects.get(id=bot.id).endpoint_secret == "old_secret"


def test_it_the_admin_never_shows_a_secret_or_an_owners_url(owner: Party, admin_client: Client) -> None:
    bot = bot_make(
        owner.tenant,
        endpoint_secret="owner_secret_x",
        mixpanel_token="mp-token-x",
        upstream_url="https://bot.example.com/hook?key=url-secret",
        webhook_info={"url": "https://other.example.com/hook?key=url-secret", "pending_update_count": 3},
    )
    page = admin_client.get(f"/admin/botpresto/bot/{bot.id}/change/").content.decode()
    for secret in (str(bot.token), "owner_secret_x", "mp-token-x", str(bot.proxy_secret), "url-secret"):
        assert secret not in page
    assert "another address" in page
