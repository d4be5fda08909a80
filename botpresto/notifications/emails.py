"""Email to the owners of a tenant: one way to send them a message (botpresto.notifications.channels says who).

Never a token, a secret or an endpoint URL in an email (URLs often carry secrets):
bots are named by their username.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.template.loader import render_to_string

SMTP_TIMEOUT = 10  # seconds: a slow mail server must not hold a worker for long


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Subject and body from ``<template>_subject.txt`` and ``<template>.txt``."""
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    return " ".join(subject.split()), render_to_string(f"{template}.txt", context)


def email_send(*, to: list[str], subject: str, body: str) -> int:
    """Send one message to each address; raises on a mail server failure (callers retry)."""
    connection = get_connection(timeout=SMTP_TIMEOUT)
    return sum(
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address], connection=connection) for address in to
    )
