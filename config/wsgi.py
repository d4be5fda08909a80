import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

pages = get_wsgi_application()

from proxy.runtime import proxy_start, proxy_started  # noqa: E402
from proxy.wsgi import PREFIX, BareHandler  # noqa: E402  (after Django is set up)

proxy = BareHandler()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Telegram's updates skip the middleware the pages need; everything else goes through it."""
    if environ.get("PATH_INFO", "").startswith(PREFIX):
        if not proxy_started():
            proxy_start()  # once per process: routes, the analytics recorder, the side-work outbox
        return proxy(environ, start_response)
    return pages(environ, start_response)
