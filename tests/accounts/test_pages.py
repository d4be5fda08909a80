from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import ApiKey, Membership
from accounts.services import api_key_authenticate
from tests.conftest import Party

pytestmark = pytest.mark.django_db


def test_signing_up_creates_the_first_tenant_and_logs_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"email": "Carol@Example.com", "password": "a long pass phrase", "organisation": "Carol Ltd"},
        follow=True,
    )
    assert response.status_code == 200
    membership = Membership.objects.get(user__email="carol@example.com")
    assert (membership.tenant.name, membership.role) == ("Carol Ltd", "owner")
    assert response.context["user"].is_authenticated


def test_signing_up_twice_with_one_email_is_refused(owner: Party, client: Client) -> None:
    response = client.post("/accounts/signup/", {"email": "alice@example.com", "password": "a long pass phrase"})
    assert "already exists" in response.content.decode()


def test_a_weak_password_is_refused(client: Client) -> None:
    response = client.post("/accounts/signup/", {"email": "dan@example.com", "password": "123"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(email="dan@example.com").exists()


def test_logging_in_reaches_the_dashboard(owner: Party, client: Client) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice@example.com", "password": "correct horse battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/bots/"


def test_password_reset_sends_a_link(owner: Party, client: Client) -> None:
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    assert re.search(r"/accounts/reset/\S+/\S+/", mail.outbox[0].body)


def test_a_created_key_is_shown_once_and_works(owner: Party, client: Client) -> None:
    client.force_login(owner.user)
    response = client.post("/accounts/api-keys/", {"name": "deploy"})
    shown = re.search(r'value="(bp_[^"]+)"', response.content.decode())
    assert shown is not None
    assert api_key_authenticate(plaintext=shown.group(1)) is not None
    again = client.get("/accounts/api-keys/").content.decode()
    assert shown.group(1) not in again


def test_an_outsider_cannot_revoke_a_key_from_the_page(owner: Party, outsider: Party, client: Client) -> None:
    key = ApiKey.objects.get(name="alice key")
    client.force_login(outsider.user)
    assert client.post(f"/accounts/api-keys/{key.id}/revoke/").status_code == 404
    assert ApiKey.objects.get(id=key.id).revoked_at is None


def test_switching_to_a_tenant_one_is_not_in_is_404(owner: Party, outsider: Party, client: Client) -> None:
    client.force_login(outsider.user)
    assert client.post("/accounts/organisations/switch/", {"tenant": owner.tenant.id}).status_code == 404


def test_the_admin_lists_keys_without_their_hash(owner: Party, admin_client: Client) -> None:
    page = admin_client.get("/admin/accounts/apikey/").content.decode()
    assert "alice key" in page
    assert ApiKey.objects.get(name="alice key").hashed not in page


def test_logging_in_takes_the_email_in_any_case(owner: Party, client: Client) -> None:
    response = client.post(
        "/accounts/login/", {"username": " Alice@EXAMPLE.com", "password": "correct horse battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/bots/"


def test_the_login_field_says_email(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Email' in html
    assert 'type="email"' in html


def test_the_admin_login_takes_the_email_in_any_case(owner: Party, client: Client) -> None:
    owner.user.is_staff = True
    owner.user.save()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "ALICE@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response.url == "/admin/"


def test_a_password_like_the_email_is_refused_at_sign_up(client: Client) -> None:
    data = {"email": "dan.smith@example.com", "password": "dan.smith@example.com"}
    html = client.post("/accounts/signup/", data).content.decode()
    assert "too similar" in html
    assert not get_user_model().objects.filter(email="dan.smith@example.com").exists()
