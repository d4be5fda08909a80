from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """What we tell people: owner alerts and emails, and the end users' "bot unavailable" notices."""

    name = "botpresto.notifications"
    label = "notifications"
    verbose_name = "Notifications"
