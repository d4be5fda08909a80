from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from botpresto.crypto import DecryptionError, Key, KeyRing
from botpresto.fields import EncryptedTextField
from botpresto.models import Bot
from tests.conftest import Party
from tests.factories import bot_make

pytestmark = pytest.mark.django_db
TOKEN = "7000000999:AAHsecretsecretsecretsecretsecret12"
ROOT = Path(__file__).resolve().parents[2]


def raw(bot: Bot, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM botpresto_bot WHERE id = %s", [bot.id])
        return str(cursor.fetchone()[0])


def set_raw(bot: Bot, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE botpresto_bot SET {column} = %s WHERE id = %s", [value, bot.id])


def ring(*ids: str) -> KeyRing:
    return KeyRing([Key(i, (i * 32).encode()[:32]) for i in ids])


def test_it_reads_back_what_was_written(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    assert Bot.objects.get(id=bot.id).token == TOKEN


def test_the_database_never_holds_the_plain_text(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    stored = raw(bot, "token")
    assert TOKEN not in stored
    assert "AAHsecret" not in stored
    assert stored.startswith("v1:")


def test_two_writes_of_one_value_differ(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    first = raw(bot, "token")
    bot.save()
    assert raw(bot, "token") != first


def test_a_value_sealed_under_an_old_key_opens_after_the_ring_changes(owner: Party) -> None:
    with override_settings(ENCRYPTION_KEYRING=ring("old")):
        bot = bot_make(owner.tenant, token=TOKEN)
    with override_settings(ENCRYPTION_KEYRING=ring("new", "old")):
        assert Bot.objects.get(id=bot.id).token == TOKEN


def test_rotation_reseals_under_the_primary_key(owner: Party, capsys: pytest.CaptureFixture[str]) -> None:
    with override_settings(ENCRYPTION_KEYRING=ring("old")):
        bot = bot_make(owner.tenant, token=TOKEN, mixpanel_token="mp-token")
    with override_settings(ENCRYPTION_KEYRING=ring("new", "old")):
        call_command("rotate_encryption_keys")
        assert "re-sealed" in capsys.readouterr().out
        call_command("rotate_encryption_keys")  # a second run finds nothing to do
        assert "total: 0 re-sealed" in capsys.readouterr().out
    assert raw(bot, "token").startswith("v1:new:")
    with override_settings(ENCRYPTION_KEYRING=ring("new")):
        reloaded = Bot.objects.get(id=bot.id)
        assert (reloaded.token, reloaded.mixpanel_token) == (TOKEN, "mp-token")


def test_a_tampered_value_fails_loudly(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    sealed = raw(bot, "token")
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    set_raw(bot, "token", flipped)
    with pytest.raises(DecryptionError, match="does not open"):
        Bot.objects.get(id=bot.id)


def test_a_value_moved_to_another_column_does_not_open(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    set_raw(bot, "endpoint_secret", raw(bot, "token"))
    with pytest.raises(DecryptionError):
        Bot.objects.get(id=bot.id)


def test_a_value_sealed_by_an_unknown_key_names_the_problem(owner: Party) -> None:
    with override_settings(ENCRYPTION_KEYRING=ring("gone")):
        bot = bot_make(owner.tenant, token=TOKEN)
    with pytest.raises(DecryptionError, match="not in ENCRYPTION_KEYS"):
        Bot.objects.get(id=bot.id)


def test_the_value_never_shows_in_repr(owner: Party) -> None:
    bot = bot_make(owner.tenant, token=TOKEN)
    assert TOKEN not in repr(Bot.objects.get(id=bot.id).token)
    assert TOKEN not in repr(Bot.objects.get(id=bot.id).__dict__)


def test_the_field_refuses_lookups_other_than_isnull(owner: Party) -> None:
    bot_make(owner.tenant, token=TOKEN)
    with pytest.raises(TypeError, match="only the isnull lookup"):
        list(Bot.objects.filter(token=TOKEN))
    assert Bot.objects.filter(mixpanel_token__isnull=True).count() == 1


def test_the_field_refuses_unique_and_indexes() -> None:
    with pytest.raises(ValueError, match="cannot be unique"):
        EncryptedTextField(unique=True)
    with pytest.raises(ValueError, match="cannot be db_index"):
        EncryptedTextField(db_index=True)


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "TESTING", "ENCRYPTION_KEYS")}
    clean.update({"SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    code = "import django; django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )


def test_production_refuses_to_start_without_keys() -> None:
    result = _start({"DEBUG": "false"})
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS must be set" in result.stderr


def test_production_refuses_a_malformed_key() -> None:
    short = base64.b64encode(b"too short").decode()
    result = _start({"DEBUG": "false", "ENCRYPTION_KEYS": f"k1:{short}"})
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS is invalid: key 'k1' must be 32 bytes" in result.stderr
    assert short not in result.stderr


def test_production_starts_with_a_valid_key_ring() -> None:
    new, old = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    assert _start({"DEBUG": "false", "ENCRYPTION_KEYS": f"k2:{new},k1:{old}"}).returncode == 0


def test_a_bad_setting_names_its_variable() -> None:
    result = _start({"DEBUG": "maybe"})
    assert "DEBUG must be true or false" in result.stderr
