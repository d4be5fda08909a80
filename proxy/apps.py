from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete


class ProxyConfig(AppConfig):
    name = "proxy"
    verbose_name = "Proxy"

    def ready(self) -> None:
        from botpresto.bots.models import Bot
        from proxy.routes import deletion_announce

        def bot_deleted(sender: Any, **kwargs: Any) -> None:
            deletion_announce()

        post_delete.connect(bot_deleted, sender=Bot, dispatch_uid="proxy_bot_deleted", weak=False)
