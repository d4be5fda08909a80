"""Run inside a network namespace of its own (see test_alert_webhook_guard.py): sends owner alerts to webhooks
whose names its hosts file maps.

good.example → 1.2.3.4 (an address on this namespace's lo that looks public), served over TLS;
rebind.example → 127.0.0.1 (a name that was public when the webhook was saved, then re-pointed).
Prints what each organisation's webhook received, as JSON.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": "sqlite://:memory:"})

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from tests.proxy import rebinding_check  # noqa: E402  (its TLS server and certificate)


def main() -> None:
    call_command("migrate", verbosity=0)
    from accounts.services import tenant_create
    from accounts.signup import user_create
    from botpresto.notifications import channels
    from botpresto.notifications.alerts import alert_record, alert_send
    from botpresto.notifications.models import AlertWebhook, OwnerAlert

    with tempfile.TemporaryDirectory() as directory:
        tls = rebinding_check.certificate(directory)
        rebinding_check.serve("1.2.3.4", 443, tls)
        rebinding_check.serve("127.0.0.1", 443, tls)
        real_send = channels.webhook_send

        def send_trusting_the_test_certificate(**kwargs: Any) -> int:
            return real_send(**kwargs, ca_certs=tls[0])

        channels.webhook_send = send_trusting_the_test_certificate  # type: ignore[assignment]
        results = {}
        for name in ("good", "rebind"):
            owner = user_create(email=f"{name}@example.com", password="x", email_verified=True)
            tenant = tenant_create(name=name, owner=owner)
            # Saved while the name pointed somewhere public: the check at connect time is what holds.
            AlertWebhook.objects.create(tenant=tenant, url=f"https://{name}.example/alerts", secret="whsec_" + "A" * 43)
            rebinding_check.received.clear()
            alert_record(tenant_id=tenant.id, kind=OwnerAlert.Kind.MAINTENANCE, details={"reason": "db"})
            alert = OwnerAlert.objects.latest("id")
            alert_send(alert_id=alert.id)
            alert.refresh_from_db()
            hook = AlertWebhook.objects.get(tenant=tenant)
            results[name] = {
                "reached": list(rebinding_check.received),
                "delivered": alert.delivered,
                "last_status": hook.last_status,
            }
        print(json.dumps(results))
    assert socket  # the namespace has no other interface: nothing could leave it


if __name__ == "__main__":
    main()
