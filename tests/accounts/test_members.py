"""Members of a tenant: the list, invitations by email, roles and removal."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.core import mail
from django.test import Client

from accounts import services
from accounts.models import Invitation, Membership
from accounts.signup import user_create
from tests.conftest import Party

pytestmark = pytest.mark.django_db


def logged_in(client: Client, party: Party) -> Client:
    client.force_login(party.user)
    return client


def invite(client: Client, email: str, role: str = "member") -> Any:
    return client.post("/accounts/members/", {"email": email, "role": role}, follow=True)


def invitation_path() -> str:
    match = re.search(r"http://[^/\s]+(/accounts/invitations/\S+/)", mail.outbox[-1].body)
    assert match is not None
    return match.group(1)


def flash(response: Any) -> str:
    return " ".join(re.findall(r'<p class="flash[^"]*" role="status">([^<]*)</p>', response.content.decode()))


def emailed_path() -> str:
    match = re.search(r"http://[^/\s]+(/\S+)", mail.outbox[-1].body)
    assert match is not None
    return match.group(1)


def role_of(party: Party) -> str:
    return Membership.objects.get(user=party.user, tenant=party.tenant).role


# The list


def test_it_lists_the_members_with_their_roles(owner: Party, member: Party, client: Client) -> None:
    html = logged_in(client, owner).get("/accounts/members/").content.decode()
    assert "alice@example.com" in html
    assert "bob@example.com" in html


def test_it_shows_no_member_of_another_tenant(owner: Party, outsider: Party, client: Client) -> None:
    html = logged_in(client, outsider).get("/accounts/members/").content.decode()
    assert "alice@example.com" not in html


def test_it_a_member_sees_no_invite_form(member: Party, client: Client) -> None:
    html = logged_in(client, member).get("/accounts/members/").content.decode()
    assert "Ask an owner or admin to invite someone" in html
    assert 'name="email"' not in html


def test_it_the_navigation_links_every_section(owner: Party, client: Client) -> None:
    html = logged_in(client, owner).get("/accounts/members/").content.decode()
    for path in ("/bots/", "/bots/connect/", "/accounts/members/", "/accounts/api-keys/", "/accounts/logout/"):
        assert f'action="{path}"' in html or f'href="{path}"' in html


# Inviting


def test_it_inviting_someone_with_an_account_only_emails_them_a_link(
    owner: Party, outsider: Party, client: Client
) -> None:
    response = invite(logged_in(client, owner), "Eve@Example.com", role="owner")
    assert "Invitation sent to eve@example.com" in response.content.decode()
    assert not Membership.objects.filter(tenant=owner.tenant, user=outsider.user).exists()
    assert mail.outbox[-1].to == ["eve@example.com"]
    assert "/accounts/invitations/" in mail.outbox[-1].body


def test_it_the_invite_answer_does_not_tell_whether_an_account_exists(
    owner: Party, outsider: Party, client: Client
) -> None:
    logged_in(client, owner)
    known = flash(invite(client, "eve@example.com")).replace("eve@example.com", "EMAIL")
    unknown = flash(invite(client, "nobody@example.com")).replace("nobody@example.com", "EMAIL")
    assert known == unknown
    first, second = (re.sub(r"\S+/invitations/\S+", "LINK", message.body) for message in mail.outbox)
    assert first == second


def test_it_inviting_a_member_again_is_refused_next_to_the_email(owner: Party, member: Party, client: Client) -> None:
    html = invite(logged_in(client, owner), "bob@example.com").content.decode()
    assert "already a member of Alice Co" in html
    assert len(mail.outbox) == 0


def test_it_inviting_someone_new_emails_a_link(owner: Party, client: Client) -> None:
    response = invite(logged_in(client, owner), "carol@example.com", role="owner")
    assert "Invitation sent to carol@example.com" in response.content.decode()
    assert mail.outbox[-1].to == ["carol@example.com"]
    assert "Alice Co" in mail.outbox[-1].body
    assert Invitation.objects.get().role == "owner"


def test_it_a_member_cannot_invite(member: Party, client: Client) -> None:
    invite(logged_in(client, member), "carol@example.com")
    assert not Invitation.objects.exists()
    assert len(mail.outbox) == 0


def test_it_the_link_joins_after_signing_up_and_confirming_the_address(owner: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path()
    client.logout()
    signup = {"email": "carol@example.com", "password": "a long pass phrase", "next": path}
    assert "Check your email" in client.post("/accounts/signup/", signup).content.decode()
    response = client.get(emailed_path(), follow=True)
    assert response.redirect_chain[-1][0] == path
    response = client.post(path, follow=True)
    assert "Welcome to Alice Co" in response.content.decode()
    assert Membership.objects.filter(tenant=owner.tenant, user__email="carol@example.com", role="member").exists()


def test_it_the_link_joins_after_logging_in(owner: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path()
    carol = user_create(email="carol@example.com", email_verified=True)
    client.force_login(carol)
    client.post(path)
    assert Membership.objects.filter(tenant=owner.tenant, user=carol).exists()


def test_it_an_account_whose_email_is_unconfirmed_cannot_accept(owner: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path()
    squatter = user_create(email="carol@example.com", password="a long pass phrase")  # signed up, never confirmed
    client.force_login(squatter)
    html = client.post(path).content.decode()
    assert "Confirm your email address first" in html
    assert not Membership.objects.filter(tenant=owner.tenant, user=squatter).exists()


def test_it_the_link_asks_a_visitor_to_sign_up_or_log_in(owner: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path()
    client.logout()
    html = client.get(path).content.decode()
    assert "Sign up with carol@example.com" in html
    assert f"/accounts/login/?next={quote(path)}" in html


def test_it_the_link_refuses_someone_with_another_email(owner: Party, outsider: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path()
    client.force_login(outsider.user)
    html = client.post(path).content.decode()
    assert "This invitation is for carol@example.com" in html
    assert not Membership.objects.filter(tenant=owner.tenant, user=outsider.user).exists()


def test_it_the_link_works_once(owner: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path()
    carol = user_create(email="carol@example.com", email_verified=True)
    client.force_login(carol)
    client.post(path)
    response = client.get(path)
    assert response.status_code == 400
    assert "already used or was cancelled" in response.content.decode()


def test_it_a_cancelled_invitation_link_stops_working(owner: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path()
    client.post(f"/accounts/invitations/{Invitation.objects.get().id}/cancel/")
    assert "already used or was cancelled" in client.get(path).content.decode()


def test_it_an_expired_link_says_so(owner: Party, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    monkeypatch.setattr(services, "INVITATION_MAX_AGE", services.INVITATION_MAX_AGE * -1)
    assert "This invitation has expired" in client.get(invitation_path()).content.decode()


def test_it_a_tampered_link_is_refused(owner: Party, client: Client) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    path = invitation_path().replace(":", "x:", 1)
    assert "not valid" in client.get(path).content.decode()


def test_it_signing_up_never_redirects_off_site(client: Client) -> None:
    data = {"email": "dan@example.com", "password": "a long pass phrase", "next": "https://evil.example/"}
    client.post("/accounts/signup/", data)
    assert client.get(emailed_path()).url == "/"


# Roles and removal


def test_it_an_owner_makes_a_member_owner(owner: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=member.user)
    logged_in(client, owner).post(f"/accounts/members/{membership.id}/role/", {"role": "owner"})
    assert role_of(member) == "owner"


def test_it_a_member_cannot_change_roles(owner: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=member.user)
    response = logged_in(client, member).post(f"/accounts/members/{membership.id}/role/", {"role": "owner"})
    assert response.status_code == 403
    assert "In Alice Co, members cannot manage members" in response.content.decode()
    assert role_of(member) == "member"


def test_it_the_last_owner_cannot_step_down(owner: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=owner.user)
    response = logged_in(client, owner).post(
        f"/accounts/members/{membership.id}/role/", {"role": "member"}, follow=True
    )
    assert "needs at least one owner" in response.content.decode()
    assert role_of(owner) == "owner"


def test_it_an_owner_removes_a_member(owner: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=member.user)
    logged_in(client, owner).post(f"/accounts/members/{membership.id}/remove/")
    assert not Membership.objects.filter(id=membership.id).exists()


def test_it_a_member_cannot_remove_another(owner: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=owner.user)
    logged_in(client, member).post(f"/accounts/members/{membership.id}/remove/")
    assert Membership.objects.filter(id=membership.id).exists()


def test_it_a_member_can_leave(owner: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=member.user)
    logged_in(client, member).post(f"/accounts/members/{membership.id}/remove/")
    assert not Membership.objects.filter(id=membership.id).exists()


def test_it_the_last_owner_cannot_be_removed(owner: Party, client: Client) -> None:
    membership = Membership.objects.get(user=owner.user)
    response = logged_in(client, owner).post(f"/accounts/members/{membership.id}/remove/", follow=True)
    assert "needs at least one owner" in response.content.decode()
    assert Membership.objects.filter(id=membership.id).exists()


@pytest.mark.parametrize("action", ["role", "remove"])
def test_it_an_outsider_gets_404_for_a_member_of_another_tenant(
    owner: Party, member: Party, outsider: Party, client: Client, action: str
) -> None:
    membership = Membership.objects.get(user=member.user)
    response = logged_in(client, outsider).post(f"/accounts/members/{membership.id}/{action}/", {"role": "owner"})
    assert response.status_code == 404
    assert role_of(member) == "member"


def test_it_an_outsider_gets_404_for_an_invitation_of_another_tenant(
    owner: Party, outsider: Party, client: Client
) -> None:
    invite(logged_in(client, owner), "carol@example.com")
    invitation = Invitation.objects.get()
    response = logged_in(client, outsider).post(f"/accounts/invitations/{invitation.id}/cancel/")
    assert response.status_code == 404
    assert Invitation.objects.filter(id=invitation.id).exists()


def test_it_switching_to_a_tenant_one_joined_shows_its_bots(owner: Party, outsider: Party, client: Client) -> None:
    Membership.objects.create(tenant=owner.tenant, user=outsider.user, role="member")
    client = logged_in(client, outsider)
    client.post("/accounts/organisations/switch/", {"tenant": owner.tenant.id})
    assert "Members of Alice Co" in client.get("/accounts/members/").content.decode()


def test_it_an_admin_changes_a_members_role(owner: Party, admin: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=member.user)
    logged_in(client, admin).post(f"/accounts/members/{membership.id}/role/", {"role": "viewer"})
    assert role_of(member) == "viewer"


def test_it_an_admin_cannot_make_anyone_owner(owner: Party, admin: Party, member: Party, client: Client) -> None:
    membership = Membership.objects.get(user=member.user)
    response = logged_in(client, admin).post(f"/accounts/members/{membership.id}/role/", {"role": "owner"})
    assert response.status_code == 403
    assert role_of(member) == "member"


def test_it_an_admin_cannot_remove_an_owner(owner: Party, admin: Party, client: Client) -> None:
    membership = Membership.objects.get(user=owner.user)
    response = logged_in(client, admin).post(f"/accounts/members/{membership.id}/remove/")
    assert response.status_code == 403
    assert Membership.objects.filter(id=membership.id).exists()


def test_it_a_viewer_can_leave(owner: Party, viewer: Party, client: Client) -> None:
    membership = Membership.objects.get(user=viewer.user)
    logged_in(client, viewer).post(f"/accounts/members/{membership.id}/remove/")
    assert not Membership.objects.filter(id=membership.id).exists()
