from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership
from accounts.services import api_key_authenticate, api_key_create, membership_remove
from botpresto.core.errors import ApplicationError
from tests.conftest import Party

pytestmark = pytest.mark.django_db


def test_it_authenticates_with_a_bearer_key(owner: Party) -> None:
    response = owner.api().get("/api/v1/keys/")
    assert response.status_code == 200
    assert {key["name"] for key in response.json()["results"]} == {"alice key"}


def test_it_refuses_a_request_without_a_key(owner: Party) -> None:
    response = APIClient().get("/api/v1/keys/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_it_refuses_a_wrong_key_with_a_right_prefix(owner: Party) -> None:
    forged = owner.key[:-4] + "AAAA"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert client.get("/api/v1/keys/").status_code == 401


def test_it_never_stores_the_key(owner: Party) -> None:
    stored = ApiKey.objects.get(name="alice key")
    assert owner.key not in (stored.prefix, stored.hashed)
    assert owner.key.split("_")[-1] not in stored.hashed


def test_it_records_the_last_use(owner: Party) -> None:
    owner.api().get("/api/v1/keys/")
    assert ApiKey.objects.get(name="alice key").last_used_at is not None


def test_it_a_revoked_key_stops_working(owner: Party) -> None:
    key = ApiKey.objects.get(name="alice key")
    assert owner.api().post(f"/api/v1/keys/{key.id}/revoke/").status_code == 200
    assert owner.api().get("/api/v1/keys/").status_code == 401


def test_it_a_key_lists_only_its_tenants_keys(owner: Party, member: Party, outsider: Party) -> None:
    names = {key["name"] for key in outsider.api().get("/api/v1/keys/").json()["results"]}
    assert names == {"eve key"}


def test_it_an_outsider_cannot_revoke_another_tenants_key(owner: Party, outsider: Party) -> None:
    key = ApiKey.objects.get(name="alice key")
    response = outsider.api().post(f"/api/v1/keys/{key.id}/revoke/")
    assert response.status_code == 404
    assert ApiKey.objects.get(id=key.id).revoked_at is None


def test_it_a_member_key_acts_for_the_shared_tenant(owner: Party, member: Party) -> None:
    names = {key["name"] for key in member.api().get("/api/v1/keys/").json()["results"]}
    assert names == {"alice key", "bob key"}


def test_it_a_key_of_a_second_tenant_sees_only_that_tenant(owner: Party, outsider: Party) -> None:
    # Alice joins Eve's tenant too; a key made for Eve's tenant still sees only Eve's keys.
    Membership.objects.create(tenant=outsider.tenant, user=owner.user, role="admin")
    issued = api_key_create(tenant=outsider.tenant, name="alice in eve", created_by=owner.user)
    assert api_key_authenticate(plaintext=issued.plaintext) == (issued.api_key, "admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    names = {key["name"] for key in client.get("/api/v1/keys/").json()["results"]}
    assert names == {"eve key", "alice in eve"}


def test_it_issue_api_key_creates_person_tenant_and_prints_the_key_last(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("issue_api_key", "ops@example.com", "--tenant", "Ops")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    authenticated = api_key_authenticate(plaintext=last_line)
    assert authenticated is not None
    api_key, role = authenticated
    assert (api_key.tenant.name, role) == ("Ops", "owner")
    assert api_key.created_by.email == "ops@example.com"  # type: ignore[union-attr]


def test_it_issue_api_key_reuses_an_existing_tenant(owner: Party, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("issue_api_key", "alice@example.com")
    authenticated = api_key_authenticate(plaintext=capsys.readouterr().out.strip().splitlines()[-1])
    assert authenticated is not None
    assert authenticated[0].tenant == owner.tenant


# Keys belong to the member who made them


def test_it_removing_a_member_revokes_their_keys(owner: Party, member: Party) -> None:
    membership = Membership.objects.get(user=member.user, tenant=owner.tenant)
    membership_remove(membership=membership, actor=owner.user)
    assert ApiKey.objects.get(name="bob key").revoked_at is not None
    assert member.api().get("/api/v1/bots/").status_code == 401


def test_it_a_member_who_leaves_loses_their_keys(owner: Party, member: Party) -> None:
    membership = Membership.objects.get(user=member.user, tenant=owner.tenant)
    membership_remove(membership=membership, actor=member.user)
    assert member.api().get("/api/v1/bots/").status_code == 401


def test_it_deactivating_a_person_revokes_their_keys(owner: Party, member: Party) -> None:
    member.user.is_active = False
    member.user.save()
    assert ApiKey.objects.get(name="bob key").revoked_at is not None
    assert member.api().get("/api/v1/bots/").status_code == 401


def test_it_a_key_whose_maker_is_no_longer_a_member_stops_at_once(owner: Party, member: Party) -> None:
    Membership.objects.filter(user=member.user).delete()  # e.g. by staff, without the service
    assert member.api().get("/api/v1/bots/").status_code == 401


def test_it_a_key_acts_with_its_makers_current_role(owner: Party, admin: Party) -> None:
    assert admin.api().post("/api/v1/keys/999/revoke/").status_code == 404  # allowed, no such key
    Membership.objects.filter(user=admin.user).update(role=Membership.Role.VIEWER)
    response = admin.api().post("/api/v1/keys/999/revoke/")
    assert response.status_code == 403
    assert response.json()["detail"] == "In Alice Co, viewers cannot manage API keys."


def test_it_the_keys_page_names_who_made_each_key(owner: Party, admin: Party, client: Client) -> None:
    client.force_login(admin.user)
    html = client.get("/accounts/api-keys/").content.decode()
    assert "alice@example.com" in html
    assert "ada@example.com" in html


def test_it_a_member_cannot_make_a_key(owner: Party, member: Party) -> None:
    with pytest.raises(ApplicationError, match="members cannot manage API keys"):
        api_key_create(tenant=owner.tenant, name="mine", created_by=member.user)


def test_it_issue_api_key_refuses_a_viewer(owner: Party, viewer: Party) -> None:
    with pytest.raises(CommandError, match="viewers cannot manage API keys"):
        call_command("issue_api_key", "vic@example.com")


def test_it_moving_to_roles_revokes_keys_nobody_can_act_for(owner: Party, member: Party, outsider: Party) -> None:
    migration = importlib.import_module("accounts.migrations.0003_roles")
    ApiKey.objects.filter(name="bob key").update(created_by=None)  # its maker's account was deleted
    ApiKey.objects.create(tenant=owner.tenant, created_by=outsider.user, name="stray", prefix="s1", hashed="x")
    migration.revoke_keys_without_a_member(django_apps, None)
    revoked = set(ApiKey.objects.filter(revoked_at__isnull=False).values_list("name", flat=True))
    assert revoked == {"bob key", "stray"}
