import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    # No rows are written: accounts made before email confirmation existed start unconfirmed
    # (their address was never checked). They keep every membership they have; joining another
    # tenant or creating one asks them to open a link first.

    dependencies = [
        ("accounts", "0003_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Profile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "email_verified_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Set when they opened the link we emailed (or reset their password).",
                        null=True,
                    ),
                ),
                (
                    "last_tenant",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.tenant",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="profile",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
