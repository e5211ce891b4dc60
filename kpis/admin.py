from __future__ import annotations

from django.contrib import admin

from .models import KPI, Measurement, Note, RollupRun, Target


@admin.register(KPI)
class KPIAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "objective",
        "unit",
        "direction",
        "source",
        "weight",
        "default_goal",
        "default_red_flag",
        "active",
        "org",
    ]
    list_filter = ["org", "objective__perspective__slug", "source", "unit", "direction", "active"]
    search_fields = ["name", "slug", "metric", "formula", "objective__name"]
    list_select_related = ["org", "objective"]
    autocomplete_fields = ["org", "objective"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["org", "objective", "slug", "name", "description", "order", "active"]}),
        (
            "Measure",
            {"fields": ["unit", "direction", "source", "metric", "metric_filter", "formula", "transform"]},
        ),
        (
            "Aggregation",
            {"fields": ["time_aggregation", "tree_aggregation", "is_cumulative", "is_forward_looking"]},
        ),
        ("Manual entries", {"fields": ["min_value", "max_value"]}),
        ("Scoring", {"fields": ["weight", "default_goal", "default_red_flag", "tolerance"]}),
        (None, {"fields": ["updated_at"]}),
    ]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = [
        "kpi",
        "territory",
        "rep",
        "period",
        "goal",
        "red_flag",
        "set_by",
        "set_at",
        "superseded_at",
    ]
    list_filter = ["org", "period", ("superseded_at", admin.EmptyFieldListFilter)]
    search_fields = ["kpi__name", "kpi__slug", "territory__full_name", "rep__name", "period", "reason"]
    list_select_related = ["kpi", "territory", "rep", "set_by"]
    autocomplete_fields = ["org", "kpi", "territory", "rep", "set_by"]
    readonly_fields = ["set_at"]


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin):
    list_display = ["kpi", "territory", "rep", "period", "value", "weight", "entered_by", "entered_at"]
    list_filter = ["org", "period"]
    search_fields = ["kpi__name", "kpi__slug", "territory__full_name", "rep__name", "period", "note"]
    list_select_related = ["kpi", "territory", "rep", "entered_by"]
    autocomplete_fields = ["org", "kpi", "territory", "rep", "entered_by"]
    readonly_fields = ["entered_at"]


@admin.register(RollupRun)
class RollupRunAdmin(admin.ModelAdmin):
    """Recomputes, for monitoring: stored results are recomputed from the inputs, never edited."""

    list_display = ["org", "started_at", "today", "periods", "rows", "seconds"]
    list_filter = ["org"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["kind", "period", "kpi", "objective", "rep", "territory", "author", "created_at", "done"]
    list_filter = ["org", "kind", "done", "period"]
    search_fields = ["text", "kpi__name", "objective__name", "rep__name", "territory__full_name"]
    list_select_related = ["kpi", "objective", "rep", "territory", "author"]
    autocomplete_fields = ["org", "kpi", "objective", "rep", "territory", "author"]
    readonly_fields = ["created_at"]
