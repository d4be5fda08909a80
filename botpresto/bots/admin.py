from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

import botpresto.bots.admin_maintenance  # noqa: F401  (registers the maintenance pages)
from botpresto.bots import services
from botpresto.bots.models import Bot, MaintenanceSwitch
from botpresto.bots.switch import maintenance_bot_switch
from botpresto.core.errors import ApplicationError

MASK = "•••••• (set)"


def _masked(value: object) -> str:
    return MASK if value else "—"


class DeliveryProblemFilter(admin.SimpleListFilter):
    """Telegram reports errors reaching us: our problem, unlike an owner's failing endpoint (status failing)."""

    title = "Telegram → BotPresto"
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("failing", "Telegram cannot deliver to us"), ("ok", "No delivery errors")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Bot]) -> QuerySet[Bot]:
        if self.value() == "failing":
            return queryset.filter(delivery_problem_since__isnull=False)
        if self.value() == "ok":
            return queryset.filter(delivery_problem_since__isnull=True)
        return queryset


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "uuid",
        "tenant",
        "mode",
        "status",
        "delivery",
        "pending_updates",
        "webhook_checked_at",
        "created_at",
    ]
    list_filter = ["status", "mode", DeliveryProblemFilter, ("tenant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["username", "name", "=telegram_id", "=uuid", "tenant__name"]
    raw_id_fields = ["tenant"]
    actions = ["bypass_selected", "reconnect_selected", "disconnect"]
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
        "delivery_problem_since",
        "last_update_at",
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

    @admin.display(description="Telegram → us")
    def delivery(self, bot: Bot) -> str:
        if bot.delivery_problem_since is None:
            return "ok" if bot.webhook_checked_at else "—"
        error = (bot.webhook_info or {}).get("last_error_message") or "errors"
        return f"failing since {bot.delivery_problem_since:%Y-%m-%d %H:%M}: {error}"

    @admin.display(description="pending")
    def pending_updates(self, bot: Bot) -> object:
        return (bot.webhook_info or {}).get("pending_update_count", "—")

    def _switch_each(self, request: HttpRequest, queryset: QuerySet[Bot], direction: str) -> None:
        counts: dict[str, int] = {}
        for bot in queryset.filter(mode=Bot.Mode.TOKEN):
            outcome = maintenance_bot_switch(bot=bot, direction=direction)
            counts[outcome.state] = counts.get(outcome.state, 0) + 1
            if outcome.state != MaintenanceSwitch.State.DONE:
                level = messages.ERROR if outcome.state == MaintenanceSwitch.State.FAILED else messages.WARNING
                self.message_user(request, f"{bot}: {outcome.state}: {outcome.reason}", level)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no token-mode bot selected"
        self.message_user(request, f"{direction}: {summary}.", messages.SUCCESS)

    @admin.action(description="Bypass selected bots (point them at their original webhook for maintenance)")
    def bypass_selected(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        self._switch_each(request, queryset, MaintenanceSwitch.Direction.BYPASS)

    @admin.action(description="Reconnect selected bots to the proxy (unless their webhook changed)")
    def reconnect_selected(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        self._switch_each(request, queryset, MaintenanceSwitch.Direction.RECONNECT)

    @admin.action(description="Disconnect selected bots (restore their original webhook)")
    def disconnect(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        done, failed = 0, []
        for bot in queryset.filter(mode=Bot.Mode.TOKEN):
            try:
                services.bot_disconnect(bot=bot)
                done += 1
            except ApplicationError as exc:
                failed.append(f"{bot}: {exc.message}")
        self.message_user(request, f"disconnect: {done} done.", messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)
