"""Metrics for operators: every process's counters added up, the state read when scraped, for staff only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from analytics import buffer
from botpresto.core.management.commands.metrics_serve import app
from botpresto.core.metrics import metrics_render
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-0123456789"


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


def scrape(text: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(text if text is not None else metrics_render().decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(name: str, **labels: str) -> float:
    return scrape().get((name, tuple(sorted(labels.items()))), 0.0)


def test_it_answers_the_token(client: Client) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert ("botpresto_metrics_source_up", (("source", "database"),)) in scrape(response.content.decode())


@pytest.mark.parametrize("authorization", ["", "Bearer wrong", f"Basic {TOKEN}"])
def test_it_is_not_there_for_anyone_else(client: Client, authorization: str) -> None:
    assert client.get("/metrics", HTTP_AUTHORIZATION=authorization).status_code == 404


def test_it_no_token_configured_means_no_token_works(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_it_staff_see_it_logged_in_and_owners_do_not(owner: Party, client: Client) -> None:
    client.force_login(owner.user)
    assert client.get("/metrics").status_code == 404
    owner.user.is_staff = True
    owner.user.save()
    assert client.get("/metrics").status_code == 200


def test_it_adds_up_the_counters_of_other_processes() -> None:
    before = value("botpresto_proxy_forwards_total", outcome="timeout")
    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); "
        "from botpresto.core.metrics import forward_observe; forward_observe(outcome='timeout', seconds=25.0)"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[2], timeout=60)
    assert value("botpresto_proxy_forwards_total", outcome="timeout") == before + 1


def test_it_a_forward_is_counted_by_outcome_with_its_latency(owner: Party, client: Client, settings: Any) -> None:
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    from tests.proxy.conftest import post
    from tests.proxy.endpoints import Endpoint

    endpoint = Endpoint()
    try:
        bot = bot_make(owner.tenant, upstream_url=endpoint.url, notices_enabled=False)
        delivered = value("botpresto_proxy_forwards_total", outcome="delivered")
        observed = value("botpresto_proxy_forward_seconds_count")
        post(client, bot)
    finally:
        endpoint.stop()
    assert value("botpresto_proxy_forwards_total", outcome="delivered") == delivered + 1
    assert value("botpresto_proxy_forward_seconds_count") == observed + 1


def test_it_a_refusal_is_counted_by_reason(owner: Party, client: Client) -> None:
    bot = bot_make(owner.tenant)
    before = value("botpresto_proxy_rejected_total", reason="secret")
    client.post(f"/proxy/bot/{bot.uuid}", b"{}", content_type="application/json")
    assert value("botpresto_proxy_rejected_total", reason="secret") == before + 1


def test_it_the_route_table_size_and_refresh_time_are_there(owner: Party) -> None:
    from proxy.routes import table

    bot_make(owner.tenant)
    table.reset()
    table.load()
    assert value("botpresto_proxy_routes") >= 1
    assert value("botpresto_proxy_routes_refreshed_timestamp_seconds") > 0
    table.reset()


def test_it_the_analytics_buffer_depth_is_read_when_scraped(owner: Party) -> None:
    buffer._client = None
    depth = value("botpresto_analytics_buffer_depth")
    assert buffer.record_push({"bot": "x"})
    assert value("botpresto_analytics_buffer_depth") == depth + 1
    buffer.records_pop(10_000)


def test_it_the_maintenance_progress_is_read_when_scraped(owner: Party) -> None:
    from django.utils import timezone

    from botpresto.bots.models import MaintenanceSwitch, MaintenanceWindow

    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        starts_at=now, ends_at=now, reason="db", state=MaintenanceWindow.State.BYPASSING
    )
    for state in ("done", "done", "pending"):
        bot = bot_make(owner.tenant)
        MaintenanceSwitch.objects.create(window=window, bot=bot, direction="bypass", state=state, updated_at=now)
    assert value("botpresto_maintenance_bots", direction="bypass", state="done") == 2
    assert value("botpresto_maintenance_bots", direction="bypass", state="pending") == 1


def test_it_a_source_that_is_away_says_so_and_the_rest_still_scrapes(settings: Any) -> None:
    from tests.proxy.endpoints import closed_port

    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    buffer._client = None
    try:
        assert value("botpresto_metrics_source_up", source="analytics_buffer") == 0
        assert value("botpresto_metrics_source_up", source="database") == 1
    finally:
        buffer._client = None


def test_it_notices_and_alerts_are_counted(owner: Party) -> None:
    from botpresto.notifications.alerts import alert_record, alert_send
    from botpresto.notifications.models import OwnerAlert
    from botpresto.notifications.tasks import notice_send_task

    sent = value("botpresto_alerts_sent_total", channel="email")
    alert_record(tenant_id=owner.tenant.id, kind=OwnerAlert.Kind.MAINTENANCE, details={"reason": "db"})
    alert_send(alert_id=OwnerAlert.objects.get().id)
    assert value("botpresto_alerts_sent_total", channel="email") == sent + 1
    off = value("botpresto_notices_total", kind="down", result="off")
    notice_send_task.apply(args=(0, {"method": "sendMessage", "chat_id": 1, "language": ""}, 0.0))
    assert value("botpresto_notices_total", kind="down", result="off") == off + 1


def test_it_the_internal_server_serves_the_same_without_a_token() -> None:
    status: list[str] = []
    body = b"".join(app({"PATH_INFO": "/metrics"}, lambda s, h: status.append(s)))
    assert status == ["200 OK"]
    assert b"botpresto_metrics_source_up" in body
