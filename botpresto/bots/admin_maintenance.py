"""Admin pages for maintenance windows: plan, start, end, and watch the progress."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from botpresto.bots.maintenance import maintenance_end, maintenance_start
from botpresto.bots.models import MaintenanceSwitch, MaintenanceWindow
from botpresto.bots.selectors import maintenance_progress
from botpresto.core.errors import ApplicationError

D = MaintenanceSwitch.Direction
S = MaintenanceSwitch.State


class MaintenanceWindowForm(forms.ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = ["starts_at", "ends_at", "reason"]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        starts_at, ends_at = data.get("starts_at") or self.instance.starts_at, data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The window must end after it starts.")
        return data


def _counts(direction: str) -> dict[str, Count]:
    on = Q(switches__direction=direction)
    return {
        f"{direction}_done": Count("switches", filter=on & Q(switches__state=S.DONE)),
        f"{direction}_left": Count("switches", filter=on & Q(switches__state__in=[S.PENDING, S.RUNNING])),
        f"{direction}_failed": Count("switches", filter=on & Q(switches__state=S.FAILED)),
        f"{direction}_skipped": Count("switches", filter=on & Q(switches__state=S.SKIPPED)),
    }


def _summary(window: MaintenanceWindow, direction: str) -> str:
    done, left, failed, skipped = (
        getattr(window, f"{direction}_{k}", 0) for k in ("done", "left", "failed", "skipped")
    )
    if not (done or left or failed or skipped):
        return "—"
    return f"{done} done, {left} left, {failed} failed, {skipped} skipped"


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    form = MaintenanceWindowForm
    list_display = ["__str__", "ends_at", "reason", "state", "bypass_progress", "reconnect_progress", "notified_at"]
    list_filter = ["state"]
    actions = ["start_now", "end_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MaintenanceWindow]:
        return super().get_queryset(request).annotate(**_counts(D.BYPASS), **_counts(D.RECONNECT))

    def get_fields(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> list[Any]:
        if obj is None:
            return ["starts_at", "ends_at", "reason"]
        return ["starts_at", "ends_at", "reason", "state", "notified_at", "progress"]

    def get_readonly_fields(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> list[str]:
        if obj is None:
            return []
        fixed = ["state", "notified_at", "progress"]
        if obj.state != MaintenanceWindow.State.PLANNED:
            fixed.append("starts_at")  # it has started; the end can still move
        if obj.state in (MaintenanceWindow.State.RECONNECTING, MaintenanceWindow.State.DONE):
            fixed.append("ends_at")
        return fixed

    @admin.display(description="bypass")
    def bypass_progress(self, window: MaintenanceWindow) -> str:
        return _summary(window, D.BYPASS)

    @admin.display(description="reconnect")
    def reconnect_progress(self, window: MaintenanceWindow) -> str:
        return _summary(window, D.RECONNECT)

    @admin.display(description="progress")
    def progress(self, window: MaintenanceWindow) -> SafeString:
        rows_url = reverse("admin:botpresto_maintenanceswitch_changelist")
        parts = []
        for direction, p in maintenance_progress(window=window).items():
            reasons = format_html_join(
                "", "<li>{} {}: {}</li>", ((n, state, reason or "—") for state, reason, n in p.reasons)
            )
            parts.append(
                format_html(
                    '<p><strong>{}</strong>: {} done, {} left, {} failed, {} skipped (<a href="{}">bots</a>)</p>'
                    "<ul>{}</ul>",
                    direction,
                    p.done,
                    p.left,
                    p.failed,
                    p.skipped,
                    f"{rows_url}?window__id__exact={window.id}&direction__exact={direction}",
                    reasons,
                )
            )
        return format_html_join("", "{}", ((part,) for part in parts))

    def _each(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow], start: bool) -> None:
        for window in queryset:
            try:
                window = maintenance_start(window=window) if start else maintenance_end(window=window)
            except ApplicationError as exc:
                self.message_user(request, f"{window}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"{window}: {window.get_state_display().lower()}.", messages.SUCCESS)

    @admin.action(description="Start bypass now")
    def start_now(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]) -> None:
        self._each(request, queryset, start=True)

    @admin.action(description="End now (reconnect the bots)")
    def end_now(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]) -> None:
        self._each(request, queryset, start=False)


@admin.register(MaintenanceSwitch)
class MaintenanceSwitchAdmin(admin.ModelAdmin):
    """Read-only: one row per bot and direction of a window, with why it failed or was skipped."""

    list_display = ["bot", "window", "direction", "state", "reason", "attempts", "updated_at"]
    list_filter = ["direction", "state", "window"]
    list_select_related = ["bot", "window"]
    search_fields = ["bot__username", "=bot__uuid", "reason"]
    raw_id_fields = ["bot", "window"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
