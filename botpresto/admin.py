from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from botpresto import services
from botpresto.errors import ApplicationError
from botpresto.models import Bot

MASK = "•••••• (set)"


def _masked(value: object) -> str:
    return MASK if value else "—"


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "uuid", "tenant", "mode", "status", "telegram_id", "created_at"]
    list_filter = ["status", "mode", ("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["username", "name", "=telegram_id", "=uuid", "tenant__name"]
    raw_id_fields = ["tenant"]
    actions = ["reconnect", "disconnect"]
    # Encrypted values are never rendered, not even as form inputs.
    fields = [
        "uuid",
        "tenant",
        "mode",
        "status",
        "telegram_id",
        "username",
        "name",
        "token_state",
        "endpoint_secret_state",
        "proxy_secret_state",
        "upstream_state",
        "mixpanel_state",
        "original_state",
        "original_max_connections",
        "original_allowed_updates",
        "original_ip_address",
        "original_has_certificate",
        "webhook_info",
        "webhook_checked_at",
        "notices_enabled",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if isinstance(name, str) and name != "notices_enabled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bots are connected by their owners (pages or API), which verify the token

    @admin.display(description="token")
    def token_state(self, bot: Bot) -> str:
        return _masked(bot.token)

    @admin.display(description="endpoint secret")
    def endpoint_secret_state(self, bot: Bot) -> str:
        return _masked(bot.endpoint_secret)

    @admin.display(description="proxy secret")
    def proxy_secret_state(self, bot: Bot) -> str:
        return _masked(bot.proxy_secret)

    @admin.display(description="endpoint URL")
    def upstream_state(self, bot: Bot) -> str:
        return _masked(bot.upstream_url)

    @admin.display(description="Mixpanel token")
    def mixpanel_state(self, bot: Bot) -> str:
        return _masked(bot.mixpanel_token)

    @admin.display(description="original webhook")
    def original_state(self, bot: Bot) -> str:
        return _masked(bot.original_url) if bot.original_url else "none (the bot polled)"

    def _each(self, request: HttpRequest, queryset: QuerySet[Bot], action: str) -> None:
        done, failed = 0, []
        for bot in queryset.filter(mode=Bot.Mode.TOKEN):
            try:
                if action == "reconnect":
                    services.bot_reconnect(bot=bot)
                else:
                    services.bot_disconnect(bot=bot)
                done += 1
            except ApplicationError as exc:
                failed.append(f"{bot}: {exc.message}")
        self.message_user(request, f"{action}: {done} done.", messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description="Reconnect selected bots to the proxy")
    def reconnect(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        self._each(request, queryset, "reconnect")

    @admin.action(description="Disconnect selected bots (restore their original webhook)")
    def disconnect(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        self._each(request, queryset, "disconnect")
