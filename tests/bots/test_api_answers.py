"""What an API client reads back: notice texts, refused languages, JSON 404s and a schema a browser shows."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient

from botpresto.bots.models import Bot
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db


def test_it_returns_the_notice_texts_it_was_given(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    texts = {"en": "Back in five minutes", "de": "Gleich wieder da"}
    patched = owner.api().patch(
        f"/api/v1/bots/{bot.uuid}/",
        {"notice_texts": texts, "notice_default_language": "de", "back_texts": {"en": "We are back"}},
        format="json",
    )
    assert patched.status_code == 200
    read = owner.api().get(f"/api/v1/bots/{bot.uuid}/").json()
    for answer in (patched.json(), read):
        assert answer["notice_texts"] == texts
        assert answer["notice_default_language"] == "de"
        assert answer["back_texts"] == {"en": "We are back"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"notice_default_language": "xx"}, "notice_default_language", id="default-language"),
        pytest.param({"notice_texts": {"qq": "Down"}}, "notice_texts", id="text-language"),
        pytest.param({"color": "red"}, "color", id="unknown-field"),
    ],
)
def test_it_refuses_an_unknown_language_or_field_naming_it(owner: Party, data: dict[str, Any], field: str) -> None:
    bot = bot_make(owner.tenant)
    response = owner.api().patch(f"/api/v1/bots/{bot.uuid}/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    bot.refresh_from_db()
    assert bot.notice_default_language == "en"
    assert bot.notice_texts == {}


def test_it_still_takes_a_regional_language(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    response = owner.api().patch(f"/api/v1/bots/{bot.uuid}/", {"notice_texts": {"pt-br": "Já volto"}}, format="json")
    assert response.status_code == 200
    assert response.json()["notice_texts"] == {"pt-br": "Já volto"}


@pytest.mark.parametrize("language", ["am", "yo", "zu", "si", "fil"])
def test_it_takes_a_language_telegram_users_have_that_django_does_not_translate(owner: Party, language: str) -> None:
    bot = bot_make(owner.tenant)
    response = owner.api().patch(f"/api/v1/bots/{bot.uuid}/", {"notice_texts": {language: "..."}}, format="json")
    assert response.status_code == 200
    assert response.json()["notice_texts"] == {language: "..."}


def test_it_asks_an_empty_connect_for_the_token_naming_both_ways(owner: Party) -> None:
    response = owner.api().post("/api/v1/bots/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "token_required"
    assert "token" in response.json()["fields"]
    assert "manual mode" in response.json()["detail"]
    assert not Bot.objects.exists()


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v2/bots/", "/api/"])
def test_it_answers_an_unknown_api_url_with_the_json_error(owner: Party, settings: Any, debug: bool, path: str) -> None:
    settings.DEBUG = debug
    response = owner.api().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found.", "fields": {}}


def test_it_shows_the_schema_in_a_browser_tab(client: Client) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    as_text = client.get("/api/v1/schema/", HTTP_ACCEPT=browser)
    assert as_text["Content-Type"] == "text/plain; charset=utf-8"
    assert yaml.safe_load(as_text.content)["info"]["title"] == "BotPresto API"
    as_json = client.get("/api/v1/schema/?format=json", HTTP_ACCEPT=browser)
    assert as_json["Content-Type"] == "application/json"
    assert as_json.json()["info"]["title"] == "BotPresto API"


def test_it_still_serves_tools_the_openapi_media_types() -> None:
    assert APIClient().get("/api/v1/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")
    answer = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert answer["Content-Type"].startswith("application/vnd.oai.openapi+json")


def test_it_answers_a_write_to_an_unknown_api_url_with_the_json_error(owner: Party, settings: Any) -> None:
    settings.DEBUG = True
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.key}")
    response = client.patch("/api/v1/bots/null,null/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_it_still_points_a_url_without_its_slash_to_the_endpoint(owner: Party) -> None:
    moved = owner.api().get("/api/v1/bots?limit=5")
    assert moved.status_code == 301
    assert moved["Location"] == "/api/v1/bots/?limit=5"
    posted = owner.api().post("/api/v1/bots", {}, format="json")
    assert posted.status_code == 404
    assert posted.json()["detail"] == "Not found. The URL ends with a slash: /api/v1/bots/"
