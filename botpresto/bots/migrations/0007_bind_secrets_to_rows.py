import logging

from django.db import migrations

logger = logging.getLogger(__name__)

COLUMNS = ["token", "endpoint_secret", "proxy_secret", "upstream_url", "mixpanel_token", "original_url"]


def _reseal(apps, version):
    from botpresto.core.crypto import key_ring
    from botpresto.core.reseal import reseal_column

    if not apps.get_model("botpresto", "Bot").objects.exists():
        return
    ring = key_ring()
    for column in COLUMNS:
        counts = reseal_column(
            ring=ring,
            table="botpresto_bot",
            column=column,
            row_column="uuid",
            context=f"botpresto.bot.{column}",
            version=version,
        )
        for message in counts.errors:
            logger.warning("reseal_failed %s", message)


def bind_to_rows(apps, schema_editor):
    """Re-seal every bot secret bound to its bot's uuid (v2). A value that does not open (its key
    missing from ENCRYPTION_KEYS) is left exactly as it is and logged: v1 values still open, and
    rotate_encryption_keys finishes the job once the key is back. Nothing is lost either way."""
    _reseal(apps, "v2")


def bind_to_columns(apps, schema_editor):
    """Undo: back to column-only values (v1), the only kind the code before this migration opens."""
    _reseal(apps, "v1")


class Migration(migrations.Migration):
    dependencies = [("botpresto", "0006_bot_jobs")]

    operations = [migrations.RunPython(bind_to_rows, bind_to_columns, elidable=False)]
