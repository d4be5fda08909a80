"""The web role's WSGI entry (gunicorn in production, runserver with make run).

Pages, the admin and the API go through Django and its middleware. Updates under
/proxy/ skip both (proxy.wsgi); in production the proxy role (proxy.asgi under
granian) serves them, and this path is there for setups without it.
"""

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

pages = get_wsgi_application()

from proxy.wsgi import PREFIX  # noqa: E402  (after Django is set up)
from proxy.wsgi import application as proxy  # noqa: E402


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO", "").startswith(PREFIX):
        return proxy(environ, start_response)
    return pages(environ, start_response)
