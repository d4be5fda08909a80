"""Where the service may connect on an owner's behalf: no server-side request forgery.

Checked twice. When an endpoint URL is saved (a clear refusal for the owner), and
again at every new connection (proxy.upstream connects to the address it vetted):
a name that resolved to a public address yesterday may resolve to 127.0.0.1 today.
One parser (urllib3's, which the forward uses) reads the URL; backslashes, control
characters, spaces and user info are refused outright, ports are those Telegram
allows for webhooks unless an operator widens them, and every special-purpose range
of the IANA registries is refused, with the IPv4 address inside 6to4, NAT64, mapped
and compatible IPv6 addresses checked too.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

from django.conf import settings
from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

from botpresto.core.errors import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IANA IPv4 and IPv6 Special-Purpose Address Registries (2025), plus multicast and the reserved blocks.
SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "100:0:0:1::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "2620:4f:8000::/48",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
# The well-known NAT64 prefix reaches the IPv4 address it carries, which decides. 6to4 (2002::/16),
# Teredo and the local-use NAT64 prefix are refused outright, whatever they carry.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, compatible), if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d, the deprecated compatible form
        return ipaddress.IPv4Address(int(ip))
    return None


def address_allowed(address: str | IPAddress) -> bool:
    """True for an address on the public internet, false for any special-purpose one."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        return isinstance(inner, ipaddress.IPv4Address) and address_allowed(inner)
    return ip.is_global and not any(ip in network for network in SPECIAL_PURPOSE if network.version == ip.version)


def _place(url: Url) -> tuple[str, int]:
    return (url.host or "").lower().rstrip(".").strip("[]"), url.port or (443 if url.scheme == "https" else 80)


@lru_cache(maxsize=16)
def _own_places(*urls: str) -> frozenset[tuple[str, int]]:
    return frozenset(_place(parse_url(url)) for url in urls)


def upstream_parse(url: str, *, field: str = "upstream_url") -> Url:
    """The URL as the forward will read it, or ApplicationError naming what is wrong with it."""
    if any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in url):
        raise ApplicationError("The endpoint URL has a backslash, a space or a control character.", field=field)
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise ApplicationError("The endpoint URL is not a valid URL.", field=field) from None
    schemes = ("https", "http") if settings.ALLOW_PRIVATE_UPSTREAMS else ("https",)
    if parts.scheme not in schemes:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ApplicationError(f"The endpoint URL must start with {allowed}.", field=field)
    authority = url.partition("//")[2].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if parts.auth is not None or "@" in authority:
        raise ApplicationError("The endpoint URL must not contain a user name or password.", field=field)
    if not parts.host:
        raise ApplicationError("The endpoint URL has no host name.", field=field)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not settings.ALLOW_PRIVATE_UPSTREAMS and port not in settings.UPSTREAM_ALLOWED_PORTS:
        ports = ", ".join(str(p) for p in settings.UPSTREAM_ALLOWED_PORTS)
        raise ApplicationError(f"The endpoint's port must be one Telegram allows for webhooks: {ports}.", field=field)
    if _place(parts) in _own_places(settings.PUBLIC_URL, settings.PROXY_URL or settings.PUBLIC_URL):
        raise ApplicationError(
            "The endpoint cannot be BotPresto itself: updates would go round in a loop.", field=field
        )
    return parts


def resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [(info[0], str(info[4][0])) for info in infos]


def resolve_allowed(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
    """The addresses of ``host`` we may connect to now; PermissionError when none is allowed."""
    addresses = resolve(host, port)
    if settings.ALLOW_PRIVATE_UPSTREAMS:
        return addresses
    allowed = [(family, address) for family, address in addresses if address_allowed(address)]
    if not allowed:
        raise PermissionError(f"{host} resolves only to private or reserved addresses")
    return allowed


def upstream_url_check(url: str, *, field: str = "upstream_url") -> str:
    """Return the URL if we may forward to it, else raise ApplicationError."""
    url = url.strip()
    parts = upstream_parse(url, field=field)
    if settings.ALLOW_PRIVATE_UPSTREAMS:
        return url
    host = parts.host or ""
    try:
        addresses = resolve(host, parts.port or 443)
    except (OSError, UnicodeError):
        raise ApplicationError(f"The endpoint's host name {host} does not resolve.", field=field) from None
    if not all(address_allowed(address) for _, address in addresses):
        raise ApplicationError(
            "The endpoint URL points at a private or reserved address; it must be reachable on the public internet.",
            field=field,
        )
    return url
