from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Party


@pytest.fixture
def owner_client(owner: Party, client: Client) -> Client:
    client.force_login(owner.user)
    return client


@pytest.fixture
def outsider_client(outsider: Party, client: Client) -> Client:
    client.force_login(outsider.user)
    return client
