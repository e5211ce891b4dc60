from __future__ import annotations

from django.contrib import admin

from .models import Membership, Organization, PeriodLock

admin.site.site_header = "Sales Scorecard administration"
admin.site.site_title = "Sales Scorecard admin"
admin.site.index_title = "Organisations, territories and scorecard definitions"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "territory", "rep"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "fiscal_year_start_month", "currency", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role", "territory", "rep", "active", "created_at"]
    list_filter = ["org", "role", "active"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name", "org__name"]
    list_select_related = ["user", "org", "territory", "rep"]
    autocomplete_fields = ["user", "org", "territory", "rep"]
    readonly_fields = ["created_at"]


@admin.register(PeriodLock)
class PeriodLockAdmin(admin.ModelAdmin):
    list_display = ["org", "period", "locked_by", "locked_at"]
    list_filter = ["org"]
    search_fields = ["period", "org__name"]
    list_select_related = ["org", "locked_by"]
    autocomplete_fields = ["org", "locked_by"]
    readonly_fields = ["locked_at"]
