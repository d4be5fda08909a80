"""The WSGI entry point gunicorn serves: updates skip the page middleware, pages keep it."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from botpresto.bots.models import Bot
from config.wsgi import application
from tests.factories import bot_make
from tests.proxy.conftest import UPDATE
from tests.proxy.endpoints import Endpoint

# The real entry point sends request_started, which closes a connection held in a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def call(path: str, method: str = "GET", body: bytes = b"", **headers: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **headers,
    }
    started: list[Any] = []
    result = application(
        environ, lambda status, response_headers, exc_info=None: started.extend([status, response_headers])
    )
    try:
        content = b"".join(result)
    finally:
        result.close()  # type: ignore[attr-defined]
    return started[0], dict(started[1]), content


def test_it_an_update_is_forwarded_through_the_entry_point(owner, endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, upstream_url=endpoint.url)
    status, headers, _ = call(
        f"/proxy/bot/{bot.uuid}", "POST", UPDATE, HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=str(bot.proxy_secret)
    )
    assert status.startswith("200")
    assert endpoint.received[0].body == UPDATE
    assert "X-Frame-Options" not in headers  # the page middleware did not run


def test_it_a_proxy_error_is_still_a_plain_status(owner) -> None:  # type: ignore[no-untyped-def]
    bot: Bot = bot_make(owner.tenant)
    status, _, _ = call(f"/proxy/bot/{bot.uuid}", "POST", UPDATE, HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="nope")
    assert status.startswith("401")


def test_it_pages_keep_their_middleware() -> None:
    status, headers, _ = call("/accounts/login/")
    assert status.startswith("200")
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db(transaction=True)
def test_it_gunicorn_loads_the_routes_before_the_first_request(owner) -> None:  # type: ignore[no-untyped-def]
    import runpy
    from pathlib import Path

    from proxy.routes import table

    bot = bot_make(owner.tenant)
    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    config["post_worker_init"](None)
    try:
        assert table.refreshing
        assert table.cached(str(bot.uuid)) is not None
    finally:
        table.stop()


def test_it_gunicorn_runs_threads_by_default() -> None:
    import runpy
    from pathlib import Path

    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    assert (config["worker_class"], config["threads"]) == ("gthread", 128)
