"""Pages and the API refuse the same bad input with the same words: both ask the same service."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from botpresto.bots.models import Bot
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
TOKEN = "5550001234:AAparity-token-parity-token-paritytok"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


@pytest.fixture(autouse=True)
def public_only(settings: Any) -> None:
    # The endpoint guard as in production. Only literal addresses below: no test may send a DNS query.
    settings.ALLOW_PRIVATE_UPSTREAMS = False


def refusals(page: str) -> str:
    return " ".join(html.unescape(m) for m in re.findall(r'<p class="error" role="alert">(.*?)</p>', page, re.S))


CONNECT = [
    pytest.param({"token": "not-a-token"}, "does not look like a bot token", id="token"),
    pytest.param({"token": TOKEN, "endpoint_secret": "has spaces"}, "letters, digits, _ and -", id="secret"),
    pytest.param({"token": TOKEN, "upstream_url": "ftp://bot.example.com/"}, "must start with https://", id="scheme"),
    pytest.param({"token": TOKEN, "upstream_url": "https://10.0.0.8/hook"}, "private or reserved", id="private"),
    pytest.param({"token": TOKEN, "upstream_url": "https://x/" + "a" * 2100}, "longer than 2048", id="long-url"),
    pytest.param({"token": TOKEN, "certificate": PRIVATE_KEY}, "never the private key", id="private-key"),
    pytest.param({"token": TOKEN, "mixpanel_token": "two words"}, "Mixpanel project token", id="mixpanel"),
]


@pytest.mark.parametrize(("data", "refusal"), CONNECT)
def test_it_connect_refuses_alike(owner: Party, client: Client, data: dict[str, str], refusal: str) -> None:
    api = owner.api().post("/api/v1/bots/", data, format="json")
    client.force_login(owner.user)
    form = dict(data)
    if "certificate" in form:
        form["certificate"] = SimpleUploadedFile("cert.pem", form["certificate"].encode())  # type: ignore[assignment]
    page = refusals(client.post("/bots/connect/", form).content.decode())
    assert api.status_code == 400
    assert refusal in api.json()["detail"]
    assert api.json()["detail"] in page
    assert not Bot.objects.exists()


MANUAL = [
    pytest.param({"upstream_url": "https://127.0.0.1/hook"}, "private or reserved", id="loopback"),
    pytest.param({"upstream_url": "https://1.1.1.1/hook", "username": "no spaces please"}, "username", id="name"),
    pytest.param({"upstream_url": "https://user:pw@bot.example.com/"}, "user name or password", id="userinfo"),
]


@pytest.mark.parametrize(("data", "refusal"), MANUAL)
def test_it_manual_mode_refuses_alike(owner: Party, client: Client, data: dict[str, str], refusal: str) -> None:
    api = owner.api().post("/api/v1/bots/", data, format="json")
    client.force_login(owner.user)
    page = refusals(client.post("/bots/connect/manual/", data).content.decode())
    assert api.status_code == 400
    assert refusal in api.json()["detail"]
    assert api.json()["detail"] in page


EDITS = [
    pytest.param("endpoint/", {"upstream_url": "ftp://bot.example.com/"}, {"upstream_url": "ftp://bot.example.com/"}),
    pytest.param("endpoint/", {"upstream_url": "https://1.1.1.1/hook", "endpoint_secret": "a b"}, None),
    pytest.param(
        "notices/",
        {"notices_enabled": "on", "notice_default_language": "!!", "text_en": ""},
        {"notice_default_language": "!!"},
    ),
    pytest.param(
        "notices/",
        {"notices_enabled": "on", "notice_default_language": "en", "text_en": "x" * 201},
        {"notice_texts": {"en": "x" * 201}},
    ),
    pytest.param("mixpanel/", {"mixpanel_token": "two words"}, {"mixpanel_token": "two words"}),
]


@pytest.mark.parametrize(("section", "form", "patch"), EDITS)
def test_it_edits_refuse_alike(
    owner: Party, client: Client, section: str, form: dict[str, str], patch: dict[str, Any] | None
) -> None:
    bot = bot_make(owner.tenant)
    patch = patch or {k: v for k, v in form.items() if k != "upstream_url"}
    api = owner.api().patch(f"/api/v1/bots/{bot.uuid}/", patch, format="json")
    client.force_login(owner.user)
    page = refusals(client.post(f"/bots/{bot.uuid}/settings/{section}", form).content.decode())
    assert api.status_code == 400
    assert api.json()["detail"] in page
