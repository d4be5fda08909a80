import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

pages = get_wsgi_application()

from proxy.routes import table  # noqa: E402
from proxy.wsgi import PREFIX, BareHandler  # noqa: E402  (after Django is set up)

proxy = BareHandler()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Telegram's updates skip the middleware the pages need; everything else goes through it."""
    if environ.get("PATH_INFO", "").startswith(PREFIX):
        if not table.refreshing:
            table.start()  # once per process: load the routes, then keep them fresh in the background
        return proxy(environ, start_response)
    return pages(environ, start_response)
