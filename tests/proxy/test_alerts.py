"""Owner alerts through the live proxy path: one failing email per streak, one recovered email when it ends."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Membership
from botpresto.bots.models import Bot
from botpresto.devtools.standin import StandIn
from proxy.outbox import outbox
from tests.conftest import alerts_send
from tests.factories import bot_make
from tests.proxy.conftest import post
from tests.proxy.endpoints import Endpoint, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.ALERT_AFTER_FAILURES = 3


@pytest.fixture
def tg(standin: StandIn) -> Any:
    return standin.add_bot(username="shop_bot")


@pytest.fixture
def bot(owner, member, tg: Any, endpoint: Endpoint) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, token=tg.token, telegram_id=tg.id, username="shop_bot", upstream_url=endpoint.url)


def update(update_id: int, chat_id: int = 42, language: str = "es") -> bytes:
    return (
        f'{{"update_id":{update_id},"message":{{"message_id":1,"date":1767000000,'
        f'"chat":{{"id":{chat_id},"type":"private"}},"from":{{"id":{chat_id},"is_bot":false,'
        f'"first_name":"U","language_code":"{language}"}},"text":"secret words"}}}}'
    ).encode()


def fail(client: Client, bot: Bot, endpoint: Endpoint, *update_ids: int) -> None:
    endpoint.reply = Reply(500)
    for update_id in update_ids:
        assert post(client, bot, body=update(update_id)).status_code == 502


def test_it_the_owners_are_emailed_once_when_the_endpoint_starts_failing(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    fail(client, bot, endpoint, 1, 2)
    assert alerts_send() == []
    fail(client, bot, endpoint, 3, 4, 5, 5, 5)
    [message] = alerts_send()
    assert message.to == ["alice@example.com"]  # owners only, not members
    assert "failing" in message.subject


def test_it_the_alert_says_what_failed_and_never_what_users_wrote(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    fail(client, bot, endpoint, 1, 2, 3)
    body = alerts_send()[0].body
    assert "error status (your endpoint answered 500), 3 times in a row" in body
    assert "What to check:" in body
    assert " UTC" in body
    assert f"/bots/{bot.uuid}/" in body
    assert "secret words" not in body
    assert str(bot.token) not in body
    assert str(bot.upstream_url) not in body


def test_it_the_bot_is_marked_failing_then_active_again(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    fail(client, bot, endpoint, 1, 2, 3)
    bot.refresh_from_db()
    assert (bot.status, bot.shown_status) == (Bot.Status.ACTIVE, Bot.Status.FAILING)
    endpoint.reply = Reply(200)
    post(client, bot, body=update(4))
    bot.refresh_from_db()
    assert (bot.shown_status, bot.endpoint_failing_since) == (Bot.Status.ACTIVE, None)


def test_it_the_owners_are_emailed_once_when_it_recovers_with_what_was_held_back(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    fail(client, bot, endpoint, 1, 1, 2, 2, 3, 3)  # Telegram retries each update
    endpoint.reply = Reply(200)
    for update_id in (1, 2, 3, 4):
        post(client, bot, body=update(update_id))
    outbox = alerts_send()
    assert len(outbox) == 2
    recovered = outbox[1]
    assert "recovered" in recovered.subject
    assert "Telegram held back 3 updates" in recovered.body
    assert "It was failing for" in recovered.body


def test_it_a_success_between_failures_restarts_the_count(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    fail(client, bot, endpoint, 1, 2)
    endpoint.reply = Reply(200)
    post(client, bot, body=update(3))
    fail(client, bot, endpoint, 4, 5)
    assert alerts_send() == []


def test_it_a_new_outage_after_recovery_alerts_again(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    fail(client, bot, endpoint, 1, 2, 3)
    endpoint.reply = Reply(200)
    post(client, bot, body=update(4))
    fail(client, bot, endpoint, 5, 6, 7)
    assert [("failing" in m.subject) for m in alerts_send()] == [True, False, True]


def test_it_the_user_is_told_once_per_update_however_often_telegram_retries(
    client: Client, bot: Bot, endpoint: Endpoint, standin: StandIn, tg: Any, settings: Any
) -> None:
    settings.NOTICE_COOLDOWN_SECONDS = 0
    standin.add_chat(tg.token, {"id": 42, "type": "private"})
    fail(client, bot, endpoint, 7, 7, 7)
    [call] = standin.calls(tg.token, "sendMessage")
    assert call.params["text"].startswith("El bot")


def test_it_a_chat_is_told_once_per_cooldown_across_updates(
    client: Client, bot: Bot, endpoint: Endpoint, standin: StandIn, tg: Any
) -> None:
    standin.add_chat(tg.token, {"id": 42, "type": "private"})
    fail(client, bot, endpoint, 7, 8, 9)
    assert len(standin.calls(tg.token, "sendMessage")) == 1


def test_it_no_one_is_told_while_the_endpoint_works(client: Client, bot: Bot, standin: StandIn, tg: Any) -> None:
    post(client, bot, body=update(1))
    assert standin.calls(tg.token) == []


def test_it_an_owner_without_email_gets_nothing_and_nothing_breaks(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    Membership.objects.filter(role=Membership.Role.OWNER).update(role=Membership.Role.MEMBER)
    get_user_model().objects.update(email="")
    fail(client, bot, endpoint, 1, 2, 3)
    assert alerts_send() == []


def test_it_a_manual_mode_bot_waiting_for_updates_is_marked_failing(owner, client: Client, endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, mode=Bot.Mode.MANUAL, status=Bot.Status.WAITING, token=None, upstream_url=endpoint.url)
    fail(client, bot, endpoint, 1, 2, 3)
    bot.refresh_from_db()
    assert bot.shown_status == Bot.Status.FAILING
    assert len(alerts_send()) == 1


def restart_every_process() -> None:
    """What a restart of the proxy, the worker and beat forgets: every in-memory singleton."""
    from proxy.after import health
    from proxy.guards import in_flight, tenant_rate
    from proxy.outbox import outbox
    from proxy.recorder import recorder
    from proxy.rejects import rejects
    from proxy.routes import table

    for singleton in (health, in_flight, tenant_rate, outbox, recorder, rejects, table):
        singleton.reset()


def kinds(outbox: list[Any]) -> list[str]:
    return ["failing" if "failing" in m.subject else "recovered" if "recovered" in m.subject else "?" for m in outbox]


def test_it_sends_the_recovered_email_after_a_restart_in_the_outage(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    fail(client, bot, endpoint, 1, 2, 3)
    restart_every_process()
    fail(client, bot, endpoint, 4)
    endpoint.reply = Reply(200)
    post(client, bot, body=update(5))
    assert kinds(alerts_send()) == ["failing", "recovered"]


def test_it_sends_one_email_of_each_kind_when_redis_is_flushed_in_the_outage(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    from django.core.cache import cache

    fail(client, bot, endpoint, 1, 2, 3)
    cache.clear()  # Redis restarted without its data
    restart_every_process()
    fail(client, bot, endpoint, 4, 5, 6, 7)  # a whole new streak as far as the counters know
    endpoint.reply = Reply(200)
    post(client, bot, body=update(8))
    bot.refresh_from_db()
    assert bot.shown_status == Bot.Status.ACTIVE
    assert kinds(alerts_send()) == ["failing", "recovered"]


def test_it_a_later_outage_is_alerted_after_a_restart_and_a_flush(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    from django.core.cache import cache

    fail(client, bot, endpoint, 1, 2, 3)
    endpoint.reply = Reply(200)
    post(client, bot, body=update(4))
    cache.clear()
    restart_every_process()
    fail(client, bot, endpoint, 5, 6, 7)
    bot.refresh_from_db()
    assert bot.shown_status == Bot.Status.FAILING  # never "all is well" while every update fails
    assert kinds(alerts_send()) == ["failing", "recovered", "failing"]


def test_it_a_recovery_whose_side_work_was_lost_is_asked_for_again_by_the_next_update(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    from unittest import mock

    from proxy import health as endpoint_health

    fail(client, bot, endpoint, 1, 2, 3)
    endpoint.reply = Reply(200)
    with mock.patch.object(endpoint_health, "success_record", side_effect=ConnectionError("redis away")):
        post(client, bot, body=update(4))  # the proxy's side work fails: no recovery asked for
    post(client, bot, body=update(5))  # within the second: not throttled, since the recovery is still owed
    bot.refresh_from_db()
    assert bot.shown_status == Bot.Status.ACTIVE
    assert kinds(alerts_send()) == ["failing", "recovered"]


def test_it_a_failing_bots_updates_in_one_second_ask_for_its_recovery_once(
    client: Client, bot: Bot, endpoint: Endpoint
) -> None:
    from unittest import mock

    from proxy import health as endpoint_health

    fail(client, bot, endpoint, 1, 2, 3)
    endpoint.reply = Reply(200)
    with mock.patch.object(endpoint_health, "task_send", wraps=endpoint_health.task_send) as sent:
        with mock.patch.object(outbox, "drain"):  # the side work waits behind a backlog...
            for update_id in range(4, 10):
                post(client, bot, body=update(update_id))
        outbox.drain()  # ...and runs later
    asked = [c for c in sent.call_args_list if c.args[0] == endpoint_health.RECOVERED_TASK]
    assert len(asked) == 1  # one task and one transaction, not one per update
    bot.refresh_from_db()
    assert bot.shown_status == Bot.Status.ACTIVE
