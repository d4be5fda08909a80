"""Reading rendered pages in tests."""

from __future__ import annotations

import html
import re


def field_errors(page: str, field: str) -> str:
    """The error block rendered next to a form field (empty when there is none)."""
    match = re.search(rf'<div id="id_{field}_error">(.*?)</div>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def assert_no_secrets(page: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in page
