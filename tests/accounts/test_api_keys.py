from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership
from accounts.services import api_key_authenticate, api_key_create
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


def test_a_revoked_key_stops_working(owner: Party) -> None:
    key = ApiKey.objects.get(name="alice key")
    assert owner.api().post(f"/api/v1/keys/{key.id}/revoke/").status_code == 200
    assert owner.api().get("/api/v1/keys/").status_code == 401


def test_a_key_lists_only_its_tenants_keys(owner: Party, member: Party, outsider: Party) -> None:
    names = {key["name"] for key in outsider.api().get("/api/v1/keys/").json()["results"]}
    assert names == {"eve key"}


def test_an_outsider_cannot_revoke_another_tenants_key(owner: Party, outsider: Party) -> None:
    key = ApiKey.objects.get(name="alice key")
    response = outsider.api().post(f"/api/v1/keys/{key.id}/revoke/")
    assert response.status_code == 404
    assert ApiKey.objects.get(id=key.id).revoked_at is None


def test_a_member_key_acts_for_the_shared_tenant(owner: Party, member: Party) -> None:
    names = {key["name"] for key in member.api().get("/api/v1/keys/").json()["results"]}
    assert names == {"alice key", "bob key"}


def test_a_key_of_a_second_tenant_sees_only_that_tenant(owner: Party, outsider: Party) -> None:
    # Alice joins Eve's tenant too; a key made for Eve's tenant still sees only Eve's keys.
    Membership.objects.create(tenant=outsider.tenant, user=owner.user, role="member")
    issued = api_key_create(tenant=outsider.tenant, name="alice in eve", created_by=owner.user)
    assert api_key_authenticate(plaintext=issued.plaintext).tenant == outsider.tenant  # type: ignore[union-attr]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    names = {key["name"] for key in client.get("/api/v1/keys/").json()["results"]}
    assert names == {"eve key", "alice in eve"}


def test_issue_api_key_creates_person_tenant_and_prints_the_key_last(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("issue_api_key", "ops@example.com", "--tenant", "Ops")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    api_key = api_key_authenticate(plaintext=last_line)
    assert api_key is not None
    assert api_key.tenant.name == "Ops"
    assert api_key.created_by.email == "ops@example.com"  # type: ignore[union-attr]


def test_issue_api_key_reuses_an_existing_tenant(owner: Party, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("issue_api_key", "alice@example.com")
    api_key = api_key_authenticate(plaintext=capsys.readouterr().out.strip().splitlines()[-1])
    assert api_key is not None
    assert api_key.tenant == owner.tenant
