"""Who may do what: every page and API route, tried by each role and by an outsider.

A route names the permission it needs (accounts.permissions); the expected answer follows from
the party's role: allowed (whatever the action then says), 403 for a role without the
permission, 404 for an outsider reaching another tenant's object (it does not exist for them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ApiKey, Invitation, Membership
from accounts.permissions import Permission
from botpresto.bots.models import Bot
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db

P = Permission
PARTIES = ["owner", "admin", "member", "viewer", "outsider"]
# The README's table, written out again here so that a change to accounts.permissions shows up.
MAY = {
    "owner": {P.READ, P.MANAGE_BOTS, P.MANAGE_KEYS, P.MANAGE_MEMBERS, P.MANAGE_OWNERS},
    "admin": {P.READ, P.MANAGE_BOTS, P.MANAGE_KEYS, P.MANAGE_MEMBERS},
    "member": {P.READ, P.MANAGE_BOTS},
    "viewer": {P.READ},
}
URL = "https://127.0.0.1/hook"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {bot}, {manual}, {key}, {target}, {invitation}: objects of the owner's tenant
    permission: Permission
    data: dict[str, Any] | None = None

    @property
    def of_an_object(self) -> bool:
        return "{" in self.path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


PAGES = [
    Route("GET", "/bots/", P.READ),
    Route("GET", "/bots/connect/", P.MANAGE_BOTS),
    Route("POST", "/bots/connect/", P.MANAGE_BOTS, {"token": "7000000001:AAexample"}),
    Route("GET", "/bots/connect/manual/", P.MANAGE_BOTS),
    Route("POST", "/bots/connect/manual/", P.MANAGE_BOTS, {"upstream_url": URL}),
    Route("GET", "/bots/{bot}/", P.READ),
    Route("GET", "/bots/{manual}/setup/", P.MANAGE_BOTS),
    Route("GET", "/bots/{bot}/settings/", P.MANAGE_BOTS),
    Route("POST", "/bots/{bot}/settings/token/", P.MANAGE_BOTS, {"token": "7000000001:AAexample"}),
    Route("POST", "/bots/{bot}/settings/endpoint/", P.MANAGE_BOTS, {"upstream_url": URL}),
    Route("POST", "/bots/{bot}/settings/mixpanel/", P.MANAGE_BOTS, {"clear": "1"}),
    Route("POST", "/bots/{bot}/settings/notices/", P.MANAGE_BOTS, {"notice_default_language": "en"}),
    Route("POST", "/bots/{bot}/disconnect/", P.MANAGE_BOTS),
    Route("POST", "/bots/{bot}/reconnect/", P.MANAGE_BOTS),
    Route("GET", "/bots/{bot}/users/", P.READ),
    Route("GET", "/bots/{bot}/users/?format=csv", P.READ),
    Route("GET", "/bots/{bot}/deliveries/", P.READ),
    Route("GET", "/bots/{bot}/delete/", P.MANAGE_BOTS),
    Route("POST", "/bots/{bot}/delete/", P.MANAGE_BOTS),
    Route("GET", "/accounts/api-keys/", P.READ),
    Route("POST", "/accounts/api-keys/", P.MANAGE_KEYS, {"name": "deploy"}),
    Route("POST", "/accounts/api-keys/{key}/revoke/", P.MANAGE_KEYS),
    Route("GET", "/accounts/members/", P.READ),
    Route("POST", "/accounts/members/", P.MANAGE_MEMBERS, {"email": "new@example.com", "role": "viewer"}),
    Route("POST", "/accounts/members/{target}/role/", P.MANAGE_MEMBERS, {"role": "member"}),
    Route("POST", "/accounts/members/{target}/remove/", P.MANAGE_MEMBERS),
    Route("POST", "/accounts/invitations/{invitation}/cancel/", P.MANAGE_MEMBERS),
    # A person's own alert channels: anyone signed in, whatever their role.
    Route("GET", "/accounts/profile/", P.READ),
    Route("POST", "/accounts/profile/", P.READ, {"action": "save", "email_kinds": ["failing"]}),
    Route("GET", "/accounts/alert-webhook/", P.MANAGE_MEMBERS),
    Route("POST", "/accounts/alert-webhook/", P.MANAGE_MEMBERS, {"url": URL, "kinds": ["failing"]}),
]

API = [
    Route("GET", "/api/v1/bots/", P.READ),
    Route("POST", "/api/v1/bots/", P.MANAGE_BOTS, {"upstream_url": URL}),
    Route("GET", "/api/v1/bots/{bot}/", P.READ),
    Route("PATCH", "/api/v1/bots/{bot}/", P.MANAGE_BOTS, {"notices_enabled": False}),
    Route("DELETE", "/api/v1/bots/{bot}/", P.MANAGE_BOTS),
    Route("POST", "/api/v1/bots/{bot}/rotate-token/", P.MANAGE_BOTS, {"token": "7000000001:AAexample"}),
    Route("POST", "/api/v1/bots/{bot}/disconnect/", P.MANAGE_BOTS),
    Route("POST", "/api/v1/bots/{bot}/reconnect/", P.MANAGE_BOTS, {}),
    Route("GET", "/api/v1/bots/{bot}/stats/", P.READ),
    Route("GET", "/api/v1/bots/{bot}/campaigns/", P.READ),
    Route("GET", "/api/v1/bots/{bot}/users/", P.READ),
    Route("GET", "/api/v1/bots/{bot}/users/?format=csv", P.READ),
    Route("GET", "/api/v1/bots/{bot}/deliveries/", P.READ),
    Route("GET", "/api/v1/alerts/webhook/", P.READ),
    Route("PUT", "/api/v1/alerts/webhook/", P.MANAGE_MEMBERS, {"url": URL, "kinds": ["failing"]}),
    Route("DELETE", "/api/v1/alerts/webhook/", P.MANAGE_MEMBERS),
    Route("GET", "/api/v1/alerts/channels/", P.READ),
    Route("PATCH", "/api/v1/alerts/channels/", P.READ, {"email_kinds": ["failing"]}),
    Route("GET", "/api/v1/keys/", P.READ),
    Route("POST", "/api/v1/keys/{key}/revoke/", P.MANAGE_KEYS),
]


@pytest.fixture
def objects(owner: Party, settings: Any) -> dict[str, Any]:
    """One of each object of the owner's tenant; Telegram is unreachable, so nothing leaves the machine."""
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    zed = get_user_model().objects.create_user(username="zed@example.com", email="zed@example.com")
    invitation = Invitation.objects.create(tenant=owner.tenant, email="inv@example.com", invited_by=owner.user)
    return {
        "bot": bot_make(owner.tenant).uuid,
        "manual": bot_make(owner.tenant, mode=Bot.Mode.MANUAL, token=None, telegram_id=None).uuid,
        "key": ApiKey.objects.get(name="alice key").id,
        "target": Membership.objects.create(tenant=owner.tenant, user=zed, role=Membership.Role.VIEWER).id,
        "invitation": invitation.id,
    }


def expected(party: str, route: Route) -> str:
    if party == "outsider":
        return "not found" if route.of_an_object else "allowed"  # in their own tenant they are owner
    return "allowed" if route.permission in MAY[party] else "forbidden"


def outcome(status: int) -> str:
    assert status != 500
    return {403: "forbidden", 404: "not found", 401: "unauthenticated"}.get(status, "allowed")


@pytest.mark.parametrize("party_name", PARTIES)
@pytest.mark.parametrize("route", PAGES, ids=str)
def test_it_each_page_answers_each_role_as_the_table_says(
    request: pytest.FixtureRequest, objects: dict[str, Any], client: Client, route: Route, party_name: str
) -> None:
    party: Party = request.getfixturevalue(party_name)
    client.force_login(party.user)
    path = route.path.format(**objects)
    response = client.get(path) if route.method == "GET" else client.post(path, route.data or {})
    assert outcome(response.status_code) == expected(party_name, route)


@pytest.mark.parametrize("party_name", PARTIES)
@pytest.mark.parametrize("route", API, ids=str)
def test_it_each_api_route_answers_each_role_as_the_table_says(
    request: pytest.FixtureRequest, objects: dict[str, Any], route: Route, party_name: str
) -> None:
    party: Party = request.getfixturevalue(party_name)
    path = route.path.format(**objects)
    response = party.api().generic(route.method, path, data=route.data, format="json" if route.data else None)
    assert outcome(response.status_code) == expected(party_name, route)


def test_it_a_refusal_names_the_role_and_what_it_cannot_do(viewer: Party, objects: dict[str, Any]) -> None:
    response = viewer.api().post("/api/v1/bots/", {"upstream_url": URL}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "In Alice Co, viewers cannot change bots."


def test_it_a_viewer_sees_no_connect_link_nor_settings(viewer: Party, objects: dict[str, Any], client: Client) -> None:
    client.force_login(viewer.user)
    html = client.get(f"/bots/{objects['bot']}/").content.decode()
    assert 'href="/bots/connect/"' not in html
    assert f'href="/bots/{objects["bot"]}/settings/"' not in html


def test_it_a_viewer_key_never_sees_a_manual_bots_proxy_secret(viewer: Party, objects: dict[str, Any]) -> None:
    shown = viewer.api().get(f"/api/v1/bots/{objects['manual']}/").json()
    assert (shown["proxy_secret"], shown["set_webhook_command"]) == (None, None)


def test_it_a_member_key_sees_the_manual_bots_proxy_secret(member: Party, objects: dict[str, Any]) -> None:
    shown = member.api().get(f"/api/v1/bots/{objects['manual']}/").json()
    assert shown["proxy_secret"] == Bot.objects.get(uuid=objects["manual"]).proxy_secret


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + re.sub(r"<[^>]+>", "{}", route)


# Routes that are not an organisation's: anyone's (sign-up, login, the docs), or the person's own.
OUTSIDE_A_TENANT = re.compile(
    r"^/\^?(admin/|proxy/|alert-bot/|metrics$|favicon\.ico$|api/$|api/v1/(schema|docs|redoc)/|_standin|$)"
    r"|^/accounts/(signup|verify|organisations|invitations/\{\}/$|log|password|reset)"
)


def test_it_the_tables_above_cover_every_page_and_api_route() -> None:
    tried = {re.sub(r"\{\w+\}", "{}", route.path.split("?")[0]) for route in PAGES + API}
    for path in set(_routes(get_resolver().url_patterns)):
        if not OUTSIDE_A_TENANT.search(path):
            assert path in tried, f"{path} is tried by no role"


def test_it_a_method_a_route_does_not_have_is_405_for_any_role(viewer: Party, objects: dict[str, Any]) -> None:
    assert viewer.api().post(f"/api/v1/bots/{objects['bot']}/stats/").status_code == 405
