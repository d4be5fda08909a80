"""What pages, the API and the login throttles need to know of a request."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address: the trusted load balancer's header when configured, else the socket's peer.

    The same rule as the proxy's source check (PROXY_FORWARDED_FOR_HEADER): the balancer appends
    the address it saw, so only the last entry can be trusted.
    """
    header = settings.PROXY_FORWARDED_FOR_HEADER
    if header:
        last = request.headers.get(header, "").rsplit(",", 1)[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))
