"""Shared fixtures: every test gets an owner, an admin, a member and a viewer of one tenant, and an outsider."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Membership, Tenant
from accounts.services import api_key_create, tenant_create
from accounts.signup import user_create
from botpresto.devtools.standin import StandIn

# A fixed key ring for the tests (and the processes they start): never the development key,
# which only DEBUG derives, and never a real one.
TEST_ENCRYPTION_KEYS = "test:dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    os.environ["ENCRYPTION_KEYS"] = settings.ENCRYPTION_KEYS = TEST_ENCRYPTION_KEYS
    # Every test makes several people; a deliberately slow hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _metrics_forget_dead_processes(settings.METRICS_DIR)


def _metrics_forget_dead_processes(directory: str) -> None:
    """Live gauges of processes that died without saying so (an earlier run, killed) would still count."""
    from prometheus_client import multiprocess

    for path in Path(directory or "/nonexistent").glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)
        except PermissionError:
            pass


@dataclass
class Party:
    user: User
    tenant: Tenant
    key: str

    def api(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.key}")
        return client


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    yield
    with contextlib.suppress(Exception):
        cache.clear()


def person(email: str, organisation: str) -> tuple[User, Tenant]:
    """Someone who signed up and confirmed their address, owner of their first tenant."""
    user = user_create(email=email, password="correct horse battery", email_verified=True)
    return user, tenant_create(name=organisation, owner=user)


@pytest.fixture
def owner(db: None) -> Party:
    user, tenant = person("alice@example.com", "Alice Co")
    return Party(user, tenant, api_key_create(tenant=tenant, name="alice key", created_by=user).plaintext)


def teammate(owner: Party, email: str, role: str) -> Party:
    """A person in the owner's tenant with ``role`` and a key of their own.

    Only owners and admins make keys: the key is made while they are admin, then their role
    changes, and the key follows it (as it does when an owner changes someone's role).
    """
    user = user_create(email=email, password="x", email_verified=True)
    membership = Membership.objects.create(tenant=owner.tenant, user=user, role=Membership.Role.ADMIN)
    key = api_key_create(tenant=owner.tenant, name=f"{email.split('@')[0]} key", created_by=user).plaintext
    Membership.objects.filter(id=membership.id).update(role=role)
    return Party(user, owner.tenant, key)


@pytest.fixture
def admin(owner: Party) -> Party:
    return teammate(owner, "ada@example.com", Membership.Role.ADMIN)


@pytest.fixture
def member(owner: Party) -> Party:
    return teammate(owner, "bob@example.com", Membership.Role.MEMBER)


@pytest.fixture
def viewer(owner: Party) -> Party:
    return teammate(owner, "vic@example.com", Membership.Role.VIEWER)


@pytest.fixture
def outsider(db: None) -> Party:
    user, tenant = person("eve@example.com", "Eve Inc")
    return Party(user, tenant, api_key_create(tenant=tenant, name="eve key", created_by=user).plaintext)


def alerts_send() -> list[Any]:
    """Send the owner alerts waiting in the outbox, as the alerts worker would; returns the mail outbox."""
    from django.core import mail

    from botpresto.notifications.alerts import alert_send
    from botpresto.notifications.models import OwnerAlert

    for alert_id in OwnerAlert.objects.filter(sent_at__isnull=True).order_by("id").values_list("id", flat=True):
        alert_send(alert_id=alert_id)
    return list(mail.outbox)


@pytest.fixture
def proxy_threads() -> Iterator[None]:
    """The proxy's background threads, as a server starts them (live-server tests, committed rows only)."""
    from proxy.outbox import outbox
    from proxy.recorder import recorder
    from proxy.routes import table
    from proxy.runtime import proxy_start

    for singleton in (table, outbox, recorder):
        singleton.reset()
    proxy_start()
    yield
    outbox.flush()
    recorder.flush()
    for singleton in (table, outbox, recorder):
        singleton.reset()


@pytest.fixture
def standin(settings: Any) -> Iterator[StandIn]:
    """The Telegram stand-in on a free port, with the client pointed at it.

    Owner endpoints in these tests live on loopback, hence ALLOW_PRIVATE_UPSTREAMS.
    """
    server = StandIn(retry_base_delay=0.05, retry_max_delay=0.5).start()
    settings.TELEGRAM_API_URL = server.url
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    try:
        yield server
    finally:
        server.stop()
