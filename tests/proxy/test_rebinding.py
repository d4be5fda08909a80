"""DNS rebinding: the forward resolves the endpoint's name again and never connects to a private address.

Runs in a network namespace of its own (unshare), with its own hosts file and a
public-looking address on its loopback: nothing leaves the machine, and no name is
resolved by a DNS server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netns import netns_run

pytestmark = pytest.mark.slow
CHECK = Path(__file__).with_name("rebinding_check.py")
HOSTS = "1.2.3.4 good.example\n127.0.0.1 rebind.example\n127.0.0.1 mixed.example\n1.2.3.4 mixed.example\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    env = {"PROXY_CONNECT_TIMEOUT": "1", "PROXY_READ_TIMEOUT": "2"}
    return netns_run(CHECK, hosts=HOSTS, folder=tmp_path_factory.mktemp("netns"), env=env, timeout=60)


def test_it_forwards_to_a_public_address_with_tls_verified_for_the_name(results: dict) -> None:  # type: ignore[type-arg]
    assert results["good"] == {"status": 200, "error": None, "reached": ["1.2.3.4/hook"]}


def test_it_a_name_rebound_to_loopback_is_refused_at_connect_time(results: dict) -> None:  # type: ignore[type-arg]
    assert results["rebind"] == {"status": 502, "error": "refused", "reached": []}


def test_it_a_name_with_a_private_and_a_public_address_reaches_only_the_public_one(results: dict) -> None:  # type: ignore[type-arg]
    assert results["mixed"] == {"status": 200, "error": None, "reached": ["1.2.3.4/hook"]}
