"""The settings module read in this process under a made-up environment: a bad value names its variable."""

from __future__ import annotations

import base64
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from botpresto.core.crypto import _ring

SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings.py"


def load(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, Any]:
    for name in [name for name in os.environ if name.startswith(("DEBUG", "ENCRYPTION", "PROXY_", "DATABASE"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def key_ring_of(values: dict[str, Any]) -> Any:
    return _ring(values["ENCRYPTION_KEYS"], values["SECRET_KEY"], values["DEBUG"])


def test_it_refuses_production_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        load(monkeypatch, SECRET_KEY="")


def test_it_refuses_production_without_encryption_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS must be set"):
        key_ring_of(load(monkeypatch, DEBUG="false"))


def test_it_refuses_a_short_key_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    short = base64.b64encode(b"too short").decode()
    with pytest.raises(ImproperlyConfigured, match="key 'k1' must be 32 bytes") as caught:
        key_ring_of(load(monkeypatch, DEBUG="false", ENCRYPTION_KEYS=f"k1:{short}"))
    assert short not in str(caught.value)


def test_it_takes_a_valid_key_ring_whose_first_key_seals(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    ring = key_ring_of(load(monkeypatch, DEBUG="false", ENCRYPTION_KEYS=f"k2:{new},k1:{old}"))
    assert ring.primary.id == "k2"
    assert set(ring.keys) == {"k1", "k2"}


def test_it_derives_a_development_key_only_with_debug_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ring = key_ring_of(load(monkeypatch, DEBUG="true"))
    assert ring.primary.id == "dev"
    assert "encryption_development_key" in caplog.text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, not 'maybe'"),
        ("PROXY_READ_TIMEOUT", "55", "PROXY_READ_TIMEOUT must be between 0.1 and 50.0, not 55.0"),
        ("PROXY_MAX_IN_FLIGHT_PER_BOT", "lots", "PROXY_MAX_IN_FLIGHT_PER_BOT must be a whole number, not 'lots'"),
        ("PROXY_TELEGRAM_SOURCE_RANGES", "149.154.160.0/99", "PROXY_TELEGRAM_SOURCE_RANGES has a bad network"),
        ("PUBLIC_URL", "ftp://example.com", "PUBLIC_URL must be a URL starting with http or https://"),
        ("DATABASE_URL", "nosuchdb://x", "DATABASE_URL must be a database URL"),
    ],
)
def test_it_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        load(monkeypatch, **{"DEBUG": "true", name: value})


def test_it_the_development_tools_are_installed_only_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "botpresto.devtools" in load(monkeypatch, DEBUG="true")["INSTALLED_APPS"]
    assert "botpresto.devtools" not in load(monkeypatch, DEBUG="false")["INSTALLED_APPS"]


@pytest.mark.parametrize("junk", ["!", " ", "*", "\u00e9", "@@"])
def test_it_refuses_a_key_with_junk_characters(monkeypatch: pytest.MonkeyPatch, junk: str) -> None:
    good = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(ImproperlyConfigured, match="key 'k1' is not valid base64") as caught:
        key_ring_of(load(monkeypatch, DEBUG="false", ENCRYPTION_KEYS=f"k1:{good[:10]}{junk}{good[10:]}"))
    assert good not in str(caught.value)


def test_it_takes_a_url_safe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = os.urandom(32)
    ring = key_ring_of(
        load(monkeypatch, DEBUG="false", ENCRYPTION_KEYS=f"k1:{base64.urlsafe_b64encode(secret).decode()}")
    )
    assert ring.keys["k1"].secret == secret


def test_it_the_deploy_check_is_clean_in_production_over_https() -> None:
    # The test process's own switches (DEBUG, the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE) stay out.
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DEBUG", "ENCRYPTION", "DJANGO_ALLOW_ASYNC"))
    }
    environ.update(
        DEBUG="false",
        SECRET_KEY=base64.b64encode(os.urandom(48)).decode(),
        PUBLIC_URL="https://botpresto.example",
        ENCRYPTION_KEYS=f"k1:{base64.b64encode(os.urandom(32)).decode()}",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=SETTINGS.parents[1],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "System check identified no issues" in done.stdout


def test_it_production_over_https_redirects_and_pins_https(monkeypatch: pytest.MonkeyPatch) -> None:
    values = load(monkeypatch, DEBUG="false", PUBLIC_URL="https://botpresto.example")
    assert (values["SECURE_SSL_REDIRECT"], values["SESSION_COOKIE_SECURE"], values["CSRF_COOKIE_SECURE"]) == (
        True,
        True,
        True,
    )
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000


def test_it_pages_forbid_inline_scripts(client: Any, db: None) -> None:
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'self'" in script_src
    assert "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in policy


def test_it_gives_up_connecting_to_an_unreachable_postgresql_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    database = load(monkeypatch, DEBUG="true", DATABASE_URL="postgres://u@db.internal/bp")
    assert database["DATABASES"]["default"]["OPTIONS"]["connect_timeout"] == 5
    chosen = load(monkeypatch, DEBUG="true", DATABASE_URL="postgres://u@db.internal/bp?connect_timeout=2")
    assert chosen["DATABASES"]["default"]["OPTIONS"]["connect_timeout"] == 2
