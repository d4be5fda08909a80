"""The endpoint's health moves out of the status into its own fact, so a streak outlives restarts."""

from typing import Any

from django.db import migrations, models


def failing_to_fact(apps: Any, schema_editor: Any) -> None:
    Bot = apps.get_model("botpresto", "Bot")
    for bot in Bot.objects.filter(status="failing").only("id", "updated_at"):
        Bot.objects.filter(id=bot.id).update(status="active", endpoint_failing_since=bot.updated_at)


def fact_to_failing(apps: Any, schema_editor: Any) -> None:
    Bot = apps.get_model("botpresto", "Bot")
    Bot.objects.filter(status="active", endpoint_failing_since__isnull=False).update(status="failing")


class Migration(migrations.Migration):
    dependencies = [("botpresto", "0004_maintenance")]

    operations = [
        migrations.AddField(
            model_name="bot", name="endpoint_failing_since", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="bot", name="endpoint_recovered_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.RunPython(failing_to_fact, fact_to_failing),
    ]
