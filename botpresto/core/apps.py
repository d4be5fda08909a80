from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing: errors, the API's error body, crypto, the Telegram client, throttling."""

    name = "botpresto.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from botpresto.core import openapi  # noqa: F401 - registers the API key scheme with the schema generator
        from botpresto.core.crypto import key_ring

        key_ring()  # a missing or bad ENCRYPTION_KEYS stops the service here, at start
