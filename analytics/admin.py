from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse

from analytics import buffer
from analytics.models import BotDailyStats, BotHourlyStats, EndUser, MixpanelPending, PipelineCounter


class ReadOnlyAdmin(admin.ModelAdmin):
    """The pipeline writes these rows; staff look, never edit."""

    show_full_result_count = False  # counting a large table on every page view is slow

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EndUser)
class EndUserAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "telegram_id",
        "bot",
        "language_code",
        "is_premium",
        "blocked",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["blocked", "is_premium", "is_bot"]
    list_select_related = ["bot"]
    search_fields = ["=telegram_id", "username", "=bot__uuid", "=bot__username"]
    raw_id_fields = ["bot"]
    ordering = ["-last_seen"]


@admin.register(BotDailyStats)
class BotDailyStatsAdmin(ReadOnlyAdmin):
    list_display = ["day", "bot", "updates", "users", "new_users", "failures", "skipped", "mixpanel_dropped"]
    list_select_related = ["bot"]
    search_fields = ["=bot__uuid", "=bot__username"]
    raw_id_fields = ["bot"]
    date_hierarchy = "day"
    ordering = ["-day"]


@admin.register(BotHourlyStats)
class BotHourlyStatsAdmin(ReadOnlyAdmin):
    list_display = [
        "hour",
        "bot",
        "updates",
        "users",
        "new_users",
        "attempts",
        "failures",
        "skipped",
        "mixpanel_dropped",
    ]
    list_select_related = ["bot"]
    search_fields = ["=bot__uuid", "=bot__username"]
    raw_id_fields = ["bot"]
    date_hierarchy = "hour"
    ordering = ["-hour"]


@admin.register(MixpanelPending)
class MixpanelPendingAdmin(ReadOnlyAdmin):
    list_display = ["id", "bot", "endpoint", "count", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["endpoint"]
    list_select_related = ["bot"]
    search_fields = ["=bot__uuid", "=bot__username"]
    exclude = ["payload"]  # end users' ids and names: not needed to watch the queue
    ordering = ["id"]


@admin.register(PipelineCounter)
class PipelineCounterAdmin(ReadOnlyAdmin):
    """The analytics pipeline at a glance: backlog, losses, what Mixpanel has not taken."""

    list_display = ["name", "value", "updated_at"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        try:
            backlog: int | str = buffer.buffer_length()
        except Exception:  # the page must show even when the buffer is down
            backlog = "unavailable"
        waiting = MixpanelPending.objects.aggregate(n=Sum("count"))["n"] or 0
        retrying = MixpanelPending.objects.filter(attempts__gt=0).aggregate(n=Sum("count"))["n"] or 0
        extra_context = {
            **(extra_context or {}),
            "pipeline": [
                ("Records waiting in the buffer", backlog),
                ("Records lost because the buffer was down", buffer.lost_count()),
                ("Mixpanel events and profiles waiting to be sent", waiting),
                ("… of which Mixpanel failed to take at least once", retrying),
            ],
        }
        return super().changelist_view(request, extra_context)
