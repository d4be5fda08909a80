"""Staff's bot pages. Every change goes through the services the owners' pages use; nothing
here writes a bot's row itself, and encrypted values are never rendered, not even as inputs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

import botpresto.bots.admin_maintenance  # noqa: F401  (registers the maintenance pages)
from botpresto.bots import services, validation
from botpresto.bots.jobs import bot_job_create, bot_job_progress
from botpresto.bots.models import Bot, BotJob, BotJobItem
from botpresto.core.crypto import DecryptionError
from botpresto.core.errors import ApplicationError
from botpresto.core.fields import unreadable_fields

MASK = "•••••• (set)"


def _masked(bot: Bot, field: str) -> str:
    try:
        return MASK if getattr(bot, field) else "—"
    except DecryptionError:
        return "unreadable (see secrets)"


class DeliveryProblemFilter(admin.SimpleListFilter):
    """Telegram reports errors reaching us: our problem, unlike an owner's failing endpoint."""

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


class EndpointHealthFilter(admin.SimpleListFilter):
    title = "owner's endpoint"
    parameter_name = "endpoint"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("failing", "Failing"), ("ok", "Answering")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Bot]) -> QuerySet[Bot]:
        if self.value() in ("failing", "ok"):
            return queryset.filter(endpoint_failing_since__isnull=self.value() == "ok")
        return queryset


class BotAdminForm(forms.ModelForm):
    """What staff may change, each through bots.services.bot_update; secrets are write-only."""

    new_endpoint_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Replaces the endpoint secret. Leave empty to keep it.",
    )
    clear_endpoint_secret = forms.BooleanField(required=False, label="Remove the endpoint secret")

    EDITABLE = ("notices_enabled", "notice_default_language")

    class Meta:
        model = Bot
        fields = ["notices_enabled", "notice_default_language"]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        changes: dict[str, Any] = {name: data[name] for name in self.changed_data if name in self.EDITABLE}
        if data.get("clear_endpoint_secret"):
            changes["endpoint_secret"] = None
        elif data.get("new_endpoint_secret"):
            changes["endpoint_secret"] = data["new_endpoint_secret"]
        checks = {"endpoint_secret": validation.secret_check, "notice_default_language": validation.language_check}
        for name, check in checks.items():
            try:
                if name in changes:
                    check(changes[name])
            except ApplicationError as exc:
                self.add_error(name if name in self.fields else "new_endpoint_secret", exc.message)
        self.changes = changes
        return data


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    form = BotAdminForm
    list_display = [
        "__str__",
        "tenant",
        "mode",
        "status",
        "endpoint",
        "delivery",
        "pending_updates",
        "secrets",
    ]
    list_filter = [
        "status",
        EndpointHealthFilter,
        "mode",
        DeliveryProblemFilter,
        ("tenant", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["tenant"]
    search_fields = ["username", "name", "=telegram_id", "=uuid", "tenant__name"]
    raw_id_fields = ["tenant"]
    actions = ["bypass_selected", "reconnect_selected", "disconnect_selected", "delete_selected_bots"]
    fieldsets = [
        (None, {"fields": ["uuid", "tenant", "mode", "status", "telegram_id", "username", "name"]}),
        (
            "Secrets (encrypted, never shown)",
            {
                "fields": [
                    "token_state",
                    "endpoint_secret_state",
                    "new_endpoint_secret",
                    "clear_endpoint_secret",
                    "proxy_secret_state",
                    "upstream_state",
                    "mixpanel_state",
                ]
            },
        ),
        (
            "Original webhook (restored on disconnect, delete and maintenance)",
            {
                "fields": [
                    "original_state",
                    "original_max_connections",
                    "original_allowed_updates",
                    "original_ip_address",
                    "original_has_certificate",
                ]
            },
        ),
        (
            "Health",
            {
                "fields": [
                    "webhook_state",
                    "webhook_checked_at",
                    "delivery_problem_since",
                    "endpoint_failing_since",
                    "endpoint_recovered_at",
                    "last_update_at",
                ]
            },
        ),
        ("Notices to users", {"fields": ["notices_enabled", "notice_default_language"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [
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
        "webhook_state",
        "webhook_checked_at",
        "delivery_problem_since",
        "endpoint_failing_since",
        "endpoint_recovered_at",
        "last_update_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bots are connected by their owners (pages or API), which verify the token

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletes rows without restoring webhooks: ours replaces it
        return actions

    # --- read-only views of what must not be shown -------------------------------------
    @admin.display(description="token")
    def token_state(self, bot: Bot) -> str:
        return _masked(bot, "token")

    @admin.display(description="endpoint secret")
    def endpoint_secret_state(self, bot: Bot) -> str:
        return _masked(bot, "endpoint_secret")

    @admin.display(description="proxy secret")
    def proxy_secret_state(self, bot: Bot) -> str:
        return _masked(bot, "proxy_secret")

    @admin.display(description="endpoint URL")
    def upstream_state(self, bot: Bot) -> str:
        return _masked(bot, "upstream_url")

    @admin.display(description="Mixpanel token")
    def mixpanel_state(self, bot: Bot) -> str:
        return _masked(bot, "mixpanel_token")

    @admin.display(description="original webhook")
    def original_state(self, bot: Bot) -> str:
        return _masked(bot, "original_url") if bot.original_url else "none (the bot polled)"

    @admin.display(description="what getWebhookInfo said")
    def webhook_state(self, bot: Bot) -> SafeString:
        """Telegram's answer without its URLs (ours carries the bot's uuid, the owner's may carry secrets)."""
        info = dict(bot.webhook_info or {})
        url = str(info.pop("url", "") or "")
        info["url"] = "ours (the proxy)" if url == bot.proxy_url else ("another address" if url else "none")
        return format_html_join("", "<div><code>{}</code>: {}</div>", sorted(info.items()))

    @admin.display(description="secrets")
    def secrets(self, bot: Bot) -> str:
        unreadable = unreadable_fields(bot)
        return f"unreadable: {', '.join(unreadable)}" if unreadable else "ok"

    @admin.display(description="endpoint")
    def endpoint(self, bot: Bot) -> str:
        return f"failing since {bot.endpoint_failing_since:%Y-%m-%d %H:%M}" if bot.endpoint_failing_since else "ok"

    @admin.display(description="Telegram → us")
    def delivery(self, bot: Bot) -> str:
        if bot.delivery_problem_since is None:
            return "ok" if bot.webhook_checked_at else "—"
        error = (bot.webhook_info or {}).get("last_error_message") or "errors"
        return f"failing since {bot.delivery_problem_since:%Y-%m-%d %H:%M}: {error}"

    @admin.display(description="pending")
    def pending_updates(self, bot: Bot) -> object:
        return (bot.webhook_info or {}).get("pending_update_count", "—")

    # --- changes, through the services --------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Bot, form: forms.ModelForm, change: bool) -> None:
        bot = Bot.objects.get(id=obj.id)  # the stored row: the form has already set its fields on obj
        services.bot_update(bot=bot, data=form.changes)  # type: ignore[attr-defined]

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:botpresto_bot_change", args=[object_id]))

    def delete_model(self, request: HttpRequest, obj: Bot) -> None:
        services.bot_delete(bot=obj)  # restores the original webhook first, or refuses

    def _job(self, request: HttpRequest, queryset: QuerySet[Bot], action: str) -> HttpResponse:
        job = bot_job_create(action=action, bots=list(queryset.order_by("id")), requested_by=request.user)
        self.message_user(
            request, f"{job}: {job.items.count()} bots queued; this page shows the progress.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:botpresto_botjob_change", args=[job.id]))

    @admin.action(description="Bypass selected bots (point them at their original webhook for maintenance)")
    def bypass_selected(self, request: HttpRequest, queryset: QuerySet[Bot]) -> HttpResponse:
        return self._job(request, queryset, BotJob.Action.BYPASS)

    @admin.action(description="Reconnect selected bots to the proxy (unless their webhook changed)")
    def reconnect_selected(self, request: HttpRequest, queryset: QuerySet[Bot]) -> HttpResponse:
        return self._job(request, queryset, BotJob.Action.RECONNECT)

    @admin.action(description="Disconnect selected bots (restore their original webhook)")
    def disconnect_selected(self, request: HttpRequest, queryset: QuerySet[Bot]) -> HttpResponse:
        return self._job(request, queryset, BotJob.Action.DISCONNECT)

    @admin.action(description="Delete selected bots (restore their original webhook first)")
    def delete_selected_bots(self, request: HttpRequest, queryset: QuerySet[Bot]) -> HttpResponse:
        return self._job(request, queryset, BotJob.Action.DELETE)


class BotJobItemInline(admin.TabularInline):
    model = BotJobItem
    fields = readonly_fields = ("bot_name", "state", "reason", "attempts", "updated_at")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BotJob)
class BotJobAdmin(admin.ModelAdmin):
    """Read-only: a bulk action's progress, bot by bot, with why one failed or was skipped."""

    list_display = ["__str__", "requested_by", "summary"]
    list_select_related = ["requested_by"]
    fields = readonly_fields = ("action", "requested_by", "created_at", "progress")
    inlines = [BotJobItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method == "GET" and super().has_change_permission(request, obj)

    @admin.display(description="progress")
    def summary(self, job: BotJob) -> str:
        p = bot_job_progress(job=job)
        return f"{p.done} done, {p.left} left, {p.failed} failed, {p.skipped} skipped"

    @admin.display(description="progress")
    def progress(self, job: BotJob) -> SafeString:
        p = bot_job_progress(job=job)
        reasons = format_html_join(
            "", "<li>{} {}: {}</li>", ((n, state, reason or "—") for state, reason, n in p.reasons)
        )
        return format_html(
            "<p>{} done, {} left, {} failed, {} skipped{}</p><ul>{}</ul>",
            p.done,
            p.left,
            p.failed,
            p.skipped,
            " (reload to follow)" if p.left else "",
            reasons,
        )
