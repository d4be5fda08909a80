"""The environment, read through django-environ, failing loudly with the variable's name.

django-environ parses; this adds what it leaves out: a bool that is neither true nor
false, a number out of range or a URL of the wrong scheme stops the service at start
instead of being guessed at.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()
T = TypeVar("T", int, float)
_FALSE = ("false", "off", "no", "n", "0")


def _raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def _parsed(name: str, parse: Callable[[], Any], expected: str) -> Any:
    try:
        return parse()
    except (ValueError, TypeError, KeyError, ImproperlyConfigured):
        raise ImproperlyConfigured(f"{name} must be {expected}, not {_raw(name)!r}.") from None


def flag(name: str, default: bool) -> bool:
    value = _raw(name).lower()
    if not value:
        return default
    if value not in (*env.BOOLEAN_TRUE_STRINGS, *_FALSE):
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")
    return value in env.BOOLEAN_TRUE_STRINGS


def text(name: str, default: str = "") -> str:
    return _raw(name) or default


def number(name: str, default: T, *, minimum: T | None = None, maximum: T | None = None) -> T:
    kind = type(default)
    if not _raw(name):
        return default
    value: T = _parsed(name, lambda: env(name, cast=kind), "a whole number" if kind is int else "a number")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ImproperlyConfigured(f"{name} must be {bounds}, not {value}.")
    return value


def items(name: str, default: list[str] | None = None) -> list[str]:
    if not _raw(name):
        return list(default or [])
    return [item.strip() for item in env.list(name) if item.strip()]


def whole_numbers(name: str, default: list[int]) -> list[int]:
    values = items(name, [str(n) for n in default])
    return [int(v) for v in _parsed(name, lambda: [int(v) for v in values], "whole numbers separated by commas")]


def url(name: str, default: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    value = (_raw(name) or default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be a URL starting with {' or '.join(schemes)}://, not {value!r}.")
    return value


def database(name: str, default: str) -> dict[str, Any]:
    value = _raw(name) or default
    expected = "a database URL such as postgres://user@host/db"
    config: dict[str, Any] = _parsed(name, lambda: env.db_url_config(value), expected)
    if config.get("ENGINE") not in env.DB_SCHEMES.values():  # django-environ passes unknown schemes through
        raise ImproperlyConfigured(f"{name} must be {expected}, not a {urlsplit(value).scheme or 'bad'}:// URL.")
    return config


def email(name: str, default: str) -> dict[str, Any]:
    value = _raw(name) or default
    return _parsed(name, lambda: env.email_url_config(value), "an email URL such as smtp+tls://user:pass@host:587")  # type: ignore[no-any-return]
