"""How much anyone may ask: logins, the API, sign-ups, password resets, invitations."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import Party

pytestmark = pytest.mark.django_db
RIGHT = "correct horse battery"


def log_in(client: Client, email: str, password: str, path: str = "/accounts/login/") -> Any:
    return client.post(path, {"username": email, "password": password})


def test_it_five_wrong_passwords_lock_the_email_out_even_with_the_right_one(owner: Party, client: Client) -> None:
    statuses = [log_in(client, "alice@example.com", "wrong").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks
    response = log_in(client, "alice@example.com", RIGHT)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "Too many failed logins for this email" in response.content.decode()


def test_it_the_lockout_counts_an_email_in_any_case(owner: Party, client: Client) -> None:
    variants = ["alice@example.com", "ALICE@example.com", "Alice@Example.com", "alice@EXAMPLE.com", "aLiCe@example.com"]
    for email in variants:
        log_in(client, email, "wrong")
    assert log_in(client, "alice@example.com", RIGHT).status_code == 429


def test_it_the_admin_login_shares_the_lockout(owner: Party, client: Client) -> None:
    owner.user.is_staff = True
    owner.user.save()
    for _ in range(5):
        log_in(client, "alice@example.com", "wrong")
    assert log_in(client, "alice@example.com", RIGHT, path="/admin/login/?next=/admin/").status_code == 429


def test_it_a_lockout_leaves_other_emails_alone(owner: Party, outsider: Party, client: Client) -> None:
    for _ in range(5):
        log_in(client, "alice@example.com", "wrong")
    assert log_in(client, "eve@example.com", RIGHT).status_code == 302


def test_it_one_address_may_try_only_so_many_logins(owner: Party, client: Client, settings: Any) -> None:
    settings.LOGIN_ATTEMPTS_PER_ADDRESS_HOUR = 3
    for n in range(3):
        log_in(client, f"someone{n}@example.com", "wrong")
    response = log_in(client, "alice@example.com", RIGHT)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_it_bad_api_keys_turn_from_401_into_429_after_the_bound(owner: Party) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer bp_000000000000_not-a-key")
    statuses = [client.get("/api/v1/bots/").status_code for _ in range(30)]
    assert statuses == [401] * 20 + [429] * 10
    response = client.get("/api/v1/bots/")
    assert 0 < int(response["Retry-After"]) <= 600


def test_it_past_the_bound_even_a_good_key_from_that_address_waits(owner: Party, settings: Any) -> None:
    settings.API_FAILED_AUTH_PER_ADDRESS = 2
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer bp_000000000000_not-a-key")
    for _ in range(2):
        bad.get("/api/v1/bots/")
    assert owner.api().get("/api/v1/bots/").status_code == 429


def test_it_a_key_may_make_so_many_requests_a_minute(owner: Party, settings: Any) -> None:
    settings.API_REQUESTS_PER_MINUTE_PER_KEY = 3
    client = owner.api()
    assert [client.get("/api/v1/bots/").status_code for _ in range(4)] == [200, 200, 200, 429]
    response = client.get("/api/v1/bots/")
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_it_an_address_may_make_so_many_requests_a_minute(owner: Party, outsider: Party, settings: Any) -> None:
    settings.API_REQUESTS_PER_MINUTE_PER_ADDRESS = 3
    for party in (owner, outsider, owner):
        assert party.api().get("/api/v1/bots/").status_code == 200
    assert outsider.api().get("/api/v1/bots/").status_code == 429


def test_it_sign_ups_from_one_address_are_bounded(client: Client, settings: Any) -> None:
    settings.SIGNUPS_PER_ADDRESS_HOUR = 2
    for n in range(2):
        client.post("/accounts/signup/", {"email": f"p{n}@example.com", "password": "a long pass phrase"})
    response = client.post("/accounts/signup/", {"email": "p9@example.com", "password": "a long pass phrase"})
    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    assert len(mail.outbox) == 2


def test_it_password_resets_from_one_address_are_bounded(owner: Party, client: Client, settings: Any) -> None:
    settings.PASSWORD_RESETS_PER_ADDRESS_HOUR = 2
    for _ in range(2):
        client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert client.post("/accounts/password_reset/", {"email": "alice@example.com"}).status_code == 429


def test_it_one_mailbox_gets_so_many_reset_emails_and_the_page_says_nothing(owner: Party, settings: Any) -> None:
    settings.PASSWORD_RESETS_PER_EMAIL_HOUR = 2
    answers = [Client().post("/accounts/password_reset/", {"email": "alice@example.com"}) for _ in range(4)]
    assert {(a.status_code, a.url) for a in answers} == {(302, "/accounts/password_reset/done/")}
    assert len(mail.outbox) == 2


def test_it_a_tenant_sends_so_many_invitations_a_day(owner: Party, client: Client, settings: Any) -> None:
    settings.INVITATIONS_PER_TENANT_DAY = 2
    client.force_login(owner.user)
    for n in range(2):
        client.post("/accounts/members/", {"email": f"i{n}@example.com", "role": "viewer"})
    html = client.post("/accounts/members/", {"email": "i9@example.com", "role": "viewer"}).content.decode()
    assert "Alice Co sent 2 invitations today, the most a day" in html
    assert len(mail.outbox) == 2


def test_it_confirmation_emails_are_bounded_per_account(client: Client, settings: Any) -> None:
    settings.VERIFICATION_EMAILS_PER_HOUR = 1
    client.post("/accounts/signup/", {"email": "dan@example.com", "password": "a long pass phrase"})
    client.post("/accounts/login/", {"username": "dan@example.com", "password": "a long pass phrase"})
    client.post("/accounts/verify/send/")
    assert client.post("/accounts/verify/send/").status_code == 429
    assert len(mail.outbox) == 2
