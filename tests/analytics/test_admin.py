"""Staff see the pipeline: what it dropped, what waits, the end users and statistics."""

from __future__ import annotations

import pytest
from django.test import Client

from analytics.models import MixpanelPending, PipelineCounter
from botpresto.bots.models import Bot
from botpresto.devtools.collector import MixpanelCollector
from tests.analytics.conftest import MIXPANEL_TOKEN, Push, drain, message

pytestmark = pytest.mark.django_db

ANN = {"id": 501, "first_name": "Ann", "username": "ann", "language_code": "de"}


def test_it_staff_see_what_mixpanel_never_got(admin_client: Client, bot: Bot, push: Push, settings) -> None:
    settings.ANALYTICS_MIXPANEL_BUFFER_MAX = 0
    push(bot, message(1, ANN))
    drain()
    page = admin_client.get("/admin/analytics/pipelinecounter/").content.decode()
    assert PipelineCounter.MIXPANEL_DROPPED in page
    assert "Records waiting in the buffer" in page


def test_it_staff_see_waiting_batches_without_their_content_or_token(
    admin_client: Client, bot: Bot, collector: MixpanelCollector, push: Push
) -> None:
    collector.mode = "down"
    push(bot, message(1, ANN))
    drain()
    listing = admin_client.get("/admin/analytics/mixpanelpending/").content.decode()
    assert "shop_bot" in listing
    waiting = MixpanelPending.objects.filter(endpoint="people").get()
    detail = admin_client.get(f"/admin/analytics/mixpanelpending/{waiting.id}/change/").content.decode()
    assert MIXPANEL_TOKEN not in listing + detail
    assert "Ann" not in detail


@pytest.mark.parametrize("page", ["enduser", "bothourlystats", "botdailystats"])
def test_it_staff_can_browse_end_users_and_statistics(admin_client: Client, bot: Bot, push: Push, page: str) -> None:
    push(bot, message(1, ANN))
    drain()
    assert admin_client.get(f"/admin/analytics/{page}/").status_code == 200
