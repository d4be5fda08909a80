from django.apps import AppConfig


class BotsConfig(AppConfig):
    """Bots, their webhook lifecycle and maintenance. The label predates the package cut: tables and
    migrations stay ``botpresto_*``."""

    name = "botpresto.bots"
    label = "botpresto"
    verbose_name = "Bots"
