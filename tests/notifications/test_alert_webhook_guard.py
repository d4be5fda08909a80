"""An organisation's alert webhook goes through the proxy's guard: a public address is reached (TLS verified
for the name), a name re-pointed at our network is refused when connecting.

Runs in a network namespace of its own (unshare), with its own hosts file and a public-looking
address on its loopback: nothing leaves the machine, and no name is resolved by a DNS server.
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
CHECK = Path(__file__).with_name("alert_webhook_check.py")
HOSTS = "1.2.3.4 good.example\n127.0.0.1 rebind.example\n"


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
    env.update({"ALLOW_PRIVATE_UPSTREAMS": "false", "EMAIL_URL": "dummymail://", "REDIS_URL": ""})
    env.update({"CELERY_BROKER_URL": "memory://", "ALERT_WEBHOOK_TIMEOUT": "2", "PROXY_CONNECT_TIMEOUT": "1"})
    done = subprocess.run(
        ["unshare", "-m", "-n", "--", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_it_posts_to_a_public_address_with_tls_verified_for_the_name(results: dict) -> None:  # type: ignore[type-arg]
    assert results["good"]["reached"] == ["1.2.3.4/alerts"]
    assert results["good"]["last_status"] == "HTTP 200"
    assert "webhook" in results["good"]["delivered"]  # type: ignore[operator]


def test_it_a_name_re_pointed_at_our_network_is_refused_when_connecting(results: dict) -> None:  # type: ignore[type-arg]
    assert results["rebind"]["reached"] == []
    assert results["rebind"]["last_status"].startswith("refused")  # type: ignore[union-attr]
