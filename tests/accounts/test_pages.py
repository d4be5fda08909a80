from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import ApiKey, Membership, Tenant
from accounts.selectors import email_is_verified
from accounts.services import api_key_authenticate, tenant_create
from accounts.signup import user_create
from tests.conftest import Party

pytestmark = pytest.mark.django_db


SIGN_UP = {"email": "Carol@Example.com", "password": "a long pass phrase", "organisation": "Carol Ltd"}


def emailed_path(message: Any) -> str:
    match = re.search(r"http://[^/\s]+(/\S+)", message.body)
    assert match is not None
    return match.group(1)


def test_it_signing_up_asks_to_confirm_the_address_before_anything_else(client: Client) -> None:
    response = client.post("/accounts/signup/", SIGN_UP)
    assert "We sent a message to <strong>carol@example.com</strong>" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert not Membership.objects.filter(user__email="carol@example.com").exists()
    assert mail.outbox[0].to == ["carol@example.com"]


def test_it_the_emailed_link_confirms_logs_in_and_creates_the_first_tenant(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP)
    response = client.get(emailed_path(mail.outbox[0]), follow=True)
    assert "carol@example.com is confirmed" in response.content.decode()
    assert response.context["user"].is_authenticated
    membership = Membership.objects.get(user__email="carol@example.com")
    assert (membership.tenant.name, membership.role) == ("Carol Ltd", "owner")


def test_it_the_link_opened_in_another_browser_asks_to_log_in_first(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP)
    response = Client().get(emailed_path(mail.outbox[0]))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/accounts/verify/")
    assert not Membership.objects.exists()


def test_it_logging_in_then_opening_the_link_confirms(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP)
    other = Client()
    other.post("/accounts/login/", {"username": "carol@example.com", "password": "a long pass phrase"})
    other.get(emailed_path(mail.outbox[0]))
    assert Membership.objects.filter(user__email="carol@example.com", role="owner").exists()


def test_it_the_link_works_once(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP)
    path = emailed_path(mail.outbox[0])
    client.get(path)
    response = client.get(path)
    assert response.status_code == 400
    assert Membership.objects.count() == 1


def test_it_signing_up_with_a_taken_address_answers_as_for_a_new_one(owner: Party, client: Client) -> None:
    taken = client.post("/accounts/signup/", {**SIGN_UP, "email": "alice@example.com"})
    new = Client().post("/accounts/signup/", {**SIGN_UP, "email": "dora@example.com"})
    assert taken.status_code == new.status_code == 200
    assert taken.content.decode().replace("alice", "X") == new.content.decode().replace("dora", "X")
    assert sorted(taken.cookies) == sorted(new.cookies)
    assert "already has an account" in mail.outbox[0].body
    assert get_user_model().objects.get(email="alice@example.com").check_password("correct horse battery")


def test_it_an_unconfirmed_account_cannot_create_a_tenant(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP)
    client.post("/accounts/login/", {"username": "carol@example.com", "password": "a long pass phrase"})
    html = client.post("/accounts/organisations/new/", {"name": "Sneaky"}).content.decode()
    assert "Confirm your email address first" in html
    assert not Tenant.objects.filter(name="Sneaky").exists()


def test_it_an_account_asks_for_a_new_link_from_the_page(client: Client) -> None:
    client.post("/accounts/signup/", SIGN_UP)
    client.post("/accounts/login/", {"username": "carol@example.com", "password": "a long pass phrase"})
    client.post("/accounts/verify/send/")
    client.get(emailed_path(mail.outbox[-1]))
    assert Membership.objects.filter(user__email="carol@example.com", role="owner").exists()


def test_it_a_password_reset_wins_back_an_address_someone_else_signed_up_with(client: Client) -> None:
    client.post("/accounts/signup/", {**SIGN_UP, "password": "the squatters pass phrase"})
    Client().post("/accounts/password_reset/", {"email": "carol@example.com"})
    reset = Client()
    form = reset.get(emailed_path(mail.outbox[-1]), follow=True)
    reset.post(form.redirect_chain[-1][0], {"new_password1": "carols own phrase", "new_password2": "carols own phrase"})
    carol = get_user_model().objects.get(email="carol@example.com")
    assert carol.check_password("carols own phrase")
    assert email_is_verified(user=carol)


def test_it_a_person_lands_in_the_tenant_they_used_last(owner: Party, outsider: Party, client: Client) -> None:
    Membership.objects.create(tenant=outsider.tenant, user=owner.user, role="member")
    client.force_login(owner.user)
    client.post("/accounts/organisations/switch/", {"tenant": outsider.tenant.id})
    fresh = Client()
    fresh.force_login(owner.user)
    assert "Members of Eve Inc" in fresh.get("/accounts/members/").content.decode()


def test_it_being_added_to_a_tenant_first_by_name_does_not_move_anyone(owner: Party, client: Client) -> None:
    stranger = user_create(email="mallory@example.com", email_verified=True)
    aaa = tenant_create(name="AAA", owner=stranger)
    Membership.objects.create(tenant=aaa, user=owner.user, role="member")
    client.force_login(owner.user)
    assert "Members of Alice Co" in client.get("/accounts/members/").content.decode()


def test_it_password_reset_answers_the_same_for_an_unknown_address(owner: Party, client: Client) -> None:
    known = client.post("/accounts/password_reset/", {"email": "alice@example.com"}, follow=True)
    unknown = Client().post("/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True)
    assert known.content == unknown.content
    assert len(mail.outbox) == 1


def test_it_a_weak_password_is_refused(client: Client) -> None:
    response = client.post("/accounts/signup/", {"email": "dan@example.com", "password": "123"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(email="dan@example.com").exists()


def test_it_logging_in_reaches_the_dashboard(owner: Party, client: Client) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice@example.com", "password": "correct horse battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/bots/"


def test_it_password_reset_sends_a_link(owner: Party, client: Client) -> None:
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    assert re.search(r"/accounts/reset/\S+/\S+/", mail.outbox[0].body)


def test_it_a_created_key_is_shown_once_and_works(owner: Party, client: Client) -> None:
    client.force_login(owner.user)
    response = client.post("/accounts/api-keys/", {"name": "deploy"})
    shown = re.search(r'value="(bp_[^"]+)"', response.content.decode())
    assert shown is not None
    assert api_key_authenticate(plaintext=shown.group(1)) is not None
    again = client.get("/accounts/api-keys/").content.decode()
    assert shown.group(1) not in again


def test_it_an_outsider_cannot_revoke_a_key_from_the_page(owner: Party, outsider: Party, client: Client) -> None:
    key = ApiKey.objects.get(name="alice key")
    client.force_login(outsider.user)
    assert client.post(f"/accounts/api-keys/{key.id}/revoke/").status_code == 404
    assert ApiKey.objects.get(id=key.id).revoked_at is None


def test_it_switching_to_a_tenant_one_is_not_in_is_404(owner: Party, outsider: Party, client: Client) -> None:
    client.force_login(outsider.user)
    assert client.post("/accounts/organisations/switch/", {"tenant": owner.tenant.id}).status_code == 404


def test_it_the_admin_lists_keys_without_their_hash(owner: Party, admin_client: Client) -> None:
    page = admin_client.get("/admin/accounts/apikey/").content.decode()
    assert "alice key" in page
    assert ApiKey.objects.get(name="alice key").hashed not in page


def test_it_logging_in_takes_the_email_in_any_case(owner: Party, client: Client) -> None:
    response = client.post(
        "/accounts/login/", {"username": " Alice@EXAMPLE.com", "password": "correct horse battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/bots/"


def test_it_the_login_field_says_email(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Email' in html
    assert 'type="email"' in html


def test_it_the_admin_login_takes_the_email_in_any_case(owner: Party, client: Client) -> None:
    owner.user.is_staff = True
    owner.user.save()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "ALICE@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response.url == "/admin/"


def test_it_a_password_like_the_email_is_refused_at_sign_up(client: Client) -> None:
    data = {"email": "dan.smith@example.com", "password": "dan.smith@example.com"}
    html = client.post("/accounts/signup/", data).content.decode()
    assert "too similar" in html
    assert not get_user_model().objects.filter(email="dan.smith@example.com").exists()


def test_it_sign_up_says_so_when_the_mail_server_is_away(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError

    monkeypatch.setattr("accounts.services.send_mail", refuse)
    response = client.post("/accounts/signup/", SIGN_UP)
    assert response.status_code == 503
    assert "We could not send the email" in response.content.decode()
