"""An organisation's alert webhook goes through the proxy's guard: a public address is reached (TLS verified
for the name), a name re-pointed at our network is refused when connecting.

Runs in a network namespace of its own (unshare), with its own hosts file and a public-looking
address on its loopback: nothing leaves the machine, and no name is resolved by a DNS server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netns import netns_run

pytestmark = pytest.mark.slow
CHECK = Path(__file__).with_name("alert_webhook_check.py")
HOSTS = "1.2.3.4 good.example\n127.0.0.1 rebind.example\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    env = {"EMAIL_URL": "dummymail://", "REDIS_URL": "", "CELERY_BROKER_URL": "memory://"}
    env.update(ALERT_WEBHOOK_TIMEOUT="2", PROXY_CONNECT_TIMEOUT="1")
    return netns_run(CHECK, hosts=HOSTS, folder=tmp_path_factory.mktemp("netns"), env=env, timeout=120)


def test_it_posts_to_a_public_address_with_tls_verified_for_the_name(results: dict) -> None:  # type: ignore[type-arg]
    assert results["good"]["reached"] == ["1.2.3.4/alerts"]
    assert results["good"]["last_status"] == "HTTP 200"
    assert "webhook" in results["good"]["delivered"]  # type: ignore[operator]


def test_it_a_name_re_pointed_at_our_network_is_refused_when_connecting(results: dict) -> None:  # type: ignore[type-arg]
    assert results["rebind"]["reached"] == []
    assert results["rebind"]["last_status"].startswith("refused")  # type: ignore[union-attr]
