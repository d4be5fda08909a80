from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from botpresto.bots.models import Bot
from proxy.guards import InFlight
from tests.factories import bot_make
from tests.proxy.conftest import post
from tests.proxy.endpoints import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(owner, endpoint: Endpoint) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, upstream_url=endpoint.url, notices_enabled=False)


@pytest.fixture
def source_check(settings: Any) -> Any:
    settings.PROXY_TELEGRAM_SOURCE_CHECK = True
    settings.PROXY_TELEGRAM_SOURCE_RANGES = ["149.154.160.0/20", "91.108.4.0/22"]
    return settings


def test_it_any_source_is_accepted_by_default(client: Client, bot: Bot) -> None:
    assert post(client, bot, REMOTE_ADDR="203.0.113.5").status_code == 200


def test_it_a_source_outside_telegrams_ranges_is_refused(
    client: Client, bot: Bot, endpoint: Endpoint, source_check: Any
) -> None:
    assert post(client, bot, REMOTE_ADDR="203.0.113.5").status_code == 403
    assert endpoint.received == []


def test_it_a_source_inside_telegrams_ranges_is_forwarded(client: Client, bot: Bot, source_check: Any) -> None:
    assert post(client, bot, REMOTE_ADDR="149.154.167.220").status_code == 200


def test_it_the_ranges_are_configurable(client: Client, bot: Bot, source_check: Any) -> None:
    source_check.PROXY_TELEGRAM_SOURCE_RANGES = ["203.0.113.0/24"]
    assert post(client, bot, REMOTE_ADDR="203.0.113.5").status_code == 200


def test_it_behind_a_load_balancer_its_header_gives_the_source(client: Client, bot: Bot, source_check: Any) -> None:
    source_check.PROXY_FORWARDED_FOR_HEADER = "X-Forwarded-For"
    ok = post(client, bot, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 91.108.4.10")
    spoofed = post(client, bot, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="91.108.4.10, 1.2.3.4")
    assert (ok.status_code, spoofed.status_code) == (200, 403)


def test_it_the_forwarded_header_is_ignored_unless_configured(client: Client, bot: Bot, source_check: Any) -> None:
    assert post(client, bot, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="91.108.4.10").status_code == 403


def test_it_a_refused_source_is_logged(
    client: Client, bot: Bot, source_check: Any, caplog: pytest.LogCaptureFixture
) -> None:
    post(client, bot, REMOTE_ADDR="203.0.113.5")
    assert "proxy_rejected reason=source" in caplog.text
    assert "source=203.0.113.5" in caplog.text


def test_it_the_in_flight_count_goes_back_down(settings: Any) -> None:
    settings.PROXY_MAX_IN_FLIGHT_PER_BOT = 1
    counter = InFlight()
    assert counter.enter(1)
    assert not counter.enter(1)
    counter.leave(1)
    assert counter.enter(1)
