from django.apps import AppConfig


class BotprestoConfig(AppConfig):
    name = "botpresto"
    verbose_name = "Bots"
