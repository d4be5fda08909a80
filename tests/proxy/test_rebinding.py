"""DNS rebinding: the forward resolves the endpoint's name again and never connects to a private address.

Runs in a network namespace of its own (unshare), with its own hosts file and a
public-looking address on its loopback: nothing leaves the machine, and no name is
resolved by a DNS server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_ENCRYPTION_KEYS

pytestmark = pytest.mark.slow
CHECK = Path(__file__).with_name("rebinding_check.py")
HOSTS = "1.2.3.4 good.example\n127.0.0.1 rebind.example\n127.0.0.1 mixed.example\n1.2.3.4 mixed.example\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a network namespace of its own")
    hosts = tmp_path_factory.mktemp("netns") / "hosts"
    hosts.write_text(HOSTS)
    script = (
        f"mount --bind {hosts} /etc/hosts && ip link set lo up && ip addr add 1.2.3.4/32 dev lo "
        f"&& exec {sys.executable} {CHECK}"
    )
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS}
    env.update({"ALLOW_PRIVATE_UPSTREAMS": "false", "PROXY_CONNECT_TIMEOUT": "1", "PROXY_READ_TIMEOUT": "2"})
    done = subprocess.run(
        ["unshare", "-m", "-n", "--", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_it_forwards_to_a_public_address_with_tls_verified_for_the_name(results: dict) -> None:  # type: ignore[type-arg]
    assert results["good"] == {"status": 200, "error": None, "reached": ["1.2.3.4/hook"]}


def test_it_a_name_rebound_to_loopback_is_refused_at_connect_time(results: dict) -> None:  # type: ignore[type-arg]
    assert results["rebind"] == {"status": 502, "error": "refused", "reached": []}


def test_it_a_name_with_a_private_and_a_public_address_reaches_only_the_public_one(results: dict) -> None:  # type: ignore[type-arg]
    assert results["mixed"] == {"status": 200, "error": None, "reached": ["1.2.3.4/hook"]}
