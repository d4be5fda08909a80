from __future__ import annotations

import base64
import importlib
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from botpresto.bots.models import Bot
from botpresto.core.crypto import DecryptionError
from botpresto.core.fields import EncryptedTextField, unreadable_fields
from tests.conftest import TEST_ENCRYPTION_KEYS, Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
TOKEN = "7000000999:AAHsecretsecretsecretsecretsecret12"


def raw(bot: Bot, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM botpresto_bot WHERE id = %s", [bot.id])
        return str(cursor.fetchone()[0])


def set_raw(bot: Bot, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE botpresto_bot SET {column} = %s WHERE id = %s", [value, bot.id])


def ring(*ids: str) -> str:
    """An ENCRYPTION_KEYS value with one made-up key per id; the first seals."""
    return ",".join(f"{i}:{base64.b64encode((i * 32).encode()[:32]).decode()}" for i in ids)


def test_it_reads_back_what_was_written(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    assert Bot.objects.get(id=bot.id).token == TOKEN


def test_it_the_database_never_holds_the_plain_text(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    stored = raw(bot, "token")
    assert TOKEN not in stored
    assert "AAHsecret" not in stored
    assert stored.startswith("v2:test:")


def test_it_two_writes_of_one_value_differ(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    first = raw(bot, "token")
    bot.save()
    assert raw(bot, "token") != first


def test_it_a_value_sealed_under_an_old_key_opens_after_the_ring_changes(owner: Party) -> None:
    with override_settings(ENCRYPTION_KEYS=ring("old")):
        bot = bot_make(owner.tenant, token=TOKEN)
    with override_settings(ENCRYPTION_KEYS=ring("new", "old")):
        assert Bot.objects.get(id=bot.id).token == TOKEN


def test_it_rotation_reseals_under_the_primary_key(owner: Party, capsys: pytest.CaptureFixture[str]) -> None:
    with override_settings(ENCRYPTION_KEYS=ring("old")):
        bot = bot_make(owner.tenant, token=TOKEN, mixpanel_token="mp-token")
    with override_settings(ENCRYPTION_KEYS=ring("new", "old")):
        call_command("rotate_encryption_keys")
        assert "re-sealed" in capsys.readouterr().out
        call_command("rotate_encryption_keys")  # a second run finds nothing to do
        assert "total: 0 re-sealed" in capsys.readouterr().out
    assert raw(bot, "token").startswith("v2:new:")
    with override_settings(ENCRYPTION_KEYS=ring("new")):
        reloaded = Bot.objects.get(id=bot.id)
        assert (reloaded.token, reloaded.mixpanel_token) == (TOKEN, "mp-token")


def test_it_a_tampered_value_fails_loudly(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    sealed = raw(bot, "token")
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    set_raw(bot, "token", flipped)
    loaded = Bot.objects.get(id=bot.id)  # the row loads: one bad value must not break a whole list
    with pytest.raises(DecryptionError, match="does not open"):
        str(loaded.token)
    assert unreadable_fields(loaded) == ["token"]


def test_it_a_value_moved_to_another_column_does_not_open(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    set_raw(bot, "endpoint_secret", raw(bot, "token"))
    with pytest.raises(DecryptionError):
        str(Bot.objects.get(id=bot.id).endpoint_secret)


def test_it_a_value_sealed_by_an_unknown_key_names_the_problem(owner: Party) -> None:
    with override_settings(ENCRYPTION_KEYS=ring("gone")):
        bot = bot_make(owner.tenant, token=TOKEN)
    with pytest.raises(DecryptionError, match="not in ENCRYPTION_KEYS"):
        str(Bot.objects.get(id=bot.id).token)


def test_it_the_value_never_shows_in_repr(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    assert TOKEN not in repr(Bot.objects.get(id=bot.id).token)
    assert TOKEN not in repr(Bot.objects.get(id=bot.id).__dict__)


def test_it_the_field_refuses_lookups_other_than_isnull(owner: Party) -> None:
    bot_make(owner.tenant, token=TOKEN)
    with pytest.raises(TypeError, match="only the isnull lookup"):
        list(Bot.objects.filter(token=TOKEN))
    assert Bot.objects.filter(mixpanel_token__isnull=True).count() == 1


def test_it_the_field_refuses_unique_and_indexes() -> None:
    with pytest.raises(ValueError, match="cannot be unique"):
        EncryptedTextField(unique=True)
    with pytest.raises(ValueError, match="cannot be db_index"):
        EncryptedTextField(db_index=True)


# Bound to the row


def column_only(plaintext: str, column: str) -> str:
    """A value as the service sealed it before values were bound to rows (v1, column only)."""
    key = base64.b64decode(TEST_ENCRYPTION_KEYS.split(":", 1)[1])
    nonce = os.urandom(12)
    blob = AESGCM(key).encrypt(nonce, plaintext.encode(), f"botpresto:v1:test:botpresto.bot.{column}".encode())
    return f"v1:test:{base64.urlsafe_b64encode(nonce + blob).decode()}"


def test_it_a_value_copied_into_another_bots_row_does_not_open(owner: Party) -> None:
    a = bot_make(owner.tenant, token=TOKEN)
    b = bot_make(owner.tenant)
    set_raw(b, "token", raw(a, "token"))
    with pytest.raises(DecryptionError, match="moved from another column or row"):
        _ = Bot.objects.get(id=b.id).token


def test_it_a_value_sealed_before_row_binding_still_opens(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    set_raw(bot, "token", column_only(TOKEN, "token"))
    assert Bot.objects.get(id=bot.id).token == TOKEN


def test_it_saving_a_bot_reseals_its_values_bound_to_its_row(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    set_raw(bot, "token", column_only(TOKEN, "token"))
    Bot.objects.get(id=bot.id).save()
    assert raw(bot, "token").startswith("v2:")
    assert Bot.objects.get(id=bot.id).token == TOKEN


def test_it_rotation_binds_older_values_to_their_rows(owner: Party, capsys: pytest.CaptureFixture[str]) -> None:
    bot = bot_make(owner.tenant)
    set_raw(bot, "mixpanel_token", column_only("mp-token", "mixpanel_token"))
    call_command("rotate_encryption_keys")
    assert "botpresto.bot.mixpanel_token: 1 re-sealed" in capsys.readouterr().out
    assert raw(bot, "mixpanel_token").startswith("v2:test:")
    assert Bot.objects.get(id=bot.id).mixpanel_token == "mp-token"


def test_it_the_migration_binds_every_value_and_its_undo_restores_the_old_form(owner: Party) -> None:
    migration = importlib.import_module("botpresto.bots.migrations.0007_bind_secrets_to_rows")
    bot = bot_make(owner.tenant, mixpanel_token="mp-token")
    set_raw(bot, "token", column_only(TOKEN, "token"))
    migration.bind_to_rows(django_apps, None)
    assert all(raw(bot, column).startswith("v2:") for column in ("token", "proxy_secret", "mixpanel_token"))
    migration.bind_to_columns(django_apps, None)
    assert raw(bot, "token").startswith("v1:")
    migration.bind_to_rows(django_apps, None)
    reloaded = Bot.objects.get(id=bot.id)
    assert (reloaded.token, reloaded.mixpanel_token) == (TOKEN, "mp-token")


def test_it_a_value_that_does_not_open_is_left_as_it_is_by_the_migration(owner: Party) -> None:
    migration = importlib.import_module("botpresto.bots.migrations.0007_bind_secrets_to_rows")
    bot = bot_make(owner.tenant)
    with override_settings(ENCRYPTION_KEYS=ring("gone")):
        bot_make(owner.tenant, token=TOKEN, telegram_id=1)
    lost = Bot.objects.get(telegram_id=1)
    before = raw(lost, "token")
    migration.bind_to_rows(django_apps, None)
    assert raw(lost, "token") == before
    assert raw(bot, "token").startswith("v2:test:")


def test_it_an_update_cannot_write_a_value_it_cannot_bind(owner: Party) -> None:
    bot = bot_make(owner.tenant)
    with pytest.raises(TypeError, match="use save"):
        Bot.objects.filter(id=bot.id).update(token=TOKEN)


def test_it_values_list_never_hands_back_the_plain_text(owner: Party) -> None:
    bot_make(owner.tenant, token=TOKEN)
    (value,) = Bot.objects.values_list("token", flat=True)
    assert TOKEN not in str(value)
