from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.models import ApiKey, Invitation, Membership, Tenant


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


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "invited_by", "created_at"]
    list_filter = ["role", "created_at"]
    list_select_related = ["tenant", "invited_by"]
    search_fields = ["email", "tenant__name"]
    raw_id_fields = ["tenant", "invited_by"]
