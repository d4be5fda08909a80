from django.apps import AppConfig


class BotprestoConfig(AppConfig):
    name = "botpresto"
    verbose_name = "Bots"

    def ready(self) -> None:
        from botpresto import openapi  # noqa: F401 - registers the API key scheme with the schema generator
