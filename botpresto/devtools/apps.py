from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Local development only: the Telegram stand-in, the Mixpanel collector, the demo. Installed with DEBUG."""

    name = "botpresto.devtools"
    label = "devtools"
    verbose_name = "Development tools"
