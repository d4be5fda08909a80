from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from accounts.forms import EmailAdminAuthenticationForm
from accounts.models import ApiKey, Invitation, Membership, Profile, Tenant
from botpresto.bots.services import tenant_delete
from botpresto.core.errors import ApplicationError

# The admin shares the login of the pages: the same email field, the same backends and lockout.
admin.site.login_form = EmailAdminAuthenticationForm


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "member_count", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would delete bots without restoring their webhooks
        return actions

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as exc:
            self.message_user(request, f"Not deleted: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_tenant_change", args=[object_id]))

    def delete_model(self, request: HttpRequest, obj: Tenant) -> None:
        tenant_delete(tenant=obj)  # restores each bot's original webhook first, or refuses

    @admin.display(ordering="member_count", description="members")
    def member_count(self, obj: Tenant) -> int:
        return obj.member_count  # type: ignore[attr-defined]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "tenant"]
    search_fields = ["user__email", "tenant__name"]
    raw_id_fields = ["user", "tenant"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # The hash is left out on purpose: staff never need it.
    list_display = ["name", "prefix", "tenant", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    list_select_related = ["tenant", "created_by"]
    search_fields = ["name", "prefix", "tenant__name", "created_by__email"]
    fields = ["tenant", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["tenant", "prefix", "created_by", "created_at", "last_used_at"]
    raw_id_fields = ["tenant"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are issued to a person, shown once: use the page or issue_api_key


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "email_verified_at", "last_tenant"]
    list_filter = [("email_verified_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "last_tenant"]
    search_fields = ["user__email"]
    raw_id_fields = ["user", "last_tenant"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "invited_by", "created_at"]
    list_filter = ["role", "created_at"]
    list_select_related = ["tenant", "invited_by"]
    search_fields = ["email", "tenant__name"]
    raw_id_fields = ["tenant", "invited_by"]
