"""Where the proxy may connect: one parser, Telegram's ports, no special-purpose address, not ourselves.

Only literal addresses here: no test may send a DNS query. Names that resolve are
tested in a network namespace with a hosts file of their own (tests/proxy/test_rebinding.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from botpresto.core.errors import ApplicationError
from botpresto.core.urlguard import address_allowed, upstream_url_check


@pytest.fixture(autouse=True)
def production(settings: Any) -> None:
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    settings.PUBLIC_URL = "https://botpresto.example"
    settings.PROXY_URL = "https://hooks.botpresto.example"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "100.64.0.1",
        "169.254.169.254",
        "172.16.5.5",
        "192.0.0.8",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "203.0.113.7",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "0.0.0.0",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::127.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:0808:0808::1",  # 6to4 at all, even around a public address
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "2001:0:4136:e378::1",  # Teredo
        "2001:db8::1",
        "fc00::1",
        "fe80::1",
        "ff02::1",
        "5f00::1",
    ],
)
def test_it_refuses_every_special_purpose_address(address: str) -> None:
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["1.1.1.1", "149.154.167.220", "2606:4700:4700::1111", "64:ff9b::101:101"])
def test_it_allows_public_addresses(address: str) -> None:
    assert address_allowed(address)


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("https://127.0.0.1\\x.attacker.example/", "backslash"),
        ("https://1.1.1.1/hook\x00", "control character"),
        ("https://1.1.1.1/ho ok", "space"),
        ("https://user:pw@1.1.1.1/", "user name or password"),
        ("https://@1.1.1.1/", "user name or password"),
        ("http://1.1.1.1/hook", "must start with https://"),
        ("https://1.1.1.1:22/hook", "port must be one Telegram allows"),
        ("https://1.1.1.1:6379/", "port must be one Telegram allows"),
        ("https://[::ffff:10.0.0.1]/hook", "private or reserved"),
        ("https://2130706433/hook", "private or reserved"),  # 127.0.0.1 as one number
        ("https://0x7f.1/hook", "private or reserved"),
        ("https://hooks.botpresto.example/proxy/bot/x", "cannot be BotPresto itself"),
        ("https://BOTPRESTO.example./x", "cannot be BotPresto itself"),
    ],
)
def test_it_refuses_an_endpoint_the_forward_must_not_reach(url: str, refusal: str) -> None:
    with pytest.raises(ApplicationError, match=refusal):
        upstream_url_check(url)


@pytest.mark.parametrize("port", ["", ":443", ":80", ":88", ":8443"])
def test_it_allows_telegrams_ports(port: str) -> None:
    url = f"https://1.1.1.1{port}/hook"
    assert upstream_url_check(url) == url


def test_it_an_operator_may_widen_the_ports(settings: Any) -> None:
    settings.UPSTREAM_ALLOWED_PORTS = [443, 9443]
    assert upstream_url_check("https://1.1.1.1:9443/hook") == "https://1.1.1.1:9443/hook"
