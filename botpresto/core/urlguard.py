"""The guard on owners' endpoint URLs: no server-side request forgery into our network."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from botpresto.core.errors import ApplicationError


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def upstream_url_check(url: str) -> str:
    """Return the URL if we may forward to it, else raise ApplicationError."""
    url = url.strip()
    allow_private = settings.ALLOW_PRIVATE_UPSTREAMS
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ApplicationError("The endpoint URL is not a valid URL.", field="upstream_url") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise ApplicationError("The endpoint URL must start with https://.", field="upstream_url")
    if not parts.hostname:
        raise ApplicationError("The endpoint URL has no host name.", field="upstream_url")
    if parts.username or parts.password:
        raise ApplicationError("The endpoint URL must not contain a user name or password.", field="upstream_url")
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ApplicationError(
            f"The endpoint's host name {parts.hostname} does not resolve.", field="upstream_url"
        ) from None
    if not all(_is_public(str(info[4][0])) for info in infos):
        raise ApplicationError(
            "The endpoint URL points at a private or reserved address; it must be reachable on the public internet.",
            field="upstream_url",
        )
    return url
