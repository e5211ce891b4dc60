from __future__ import annotations

from django.contrib import admin

from .models import Objective, ObjectiveLink, Perspective


class ObjectiveInline(admin.TabularInline):
    model = Objective
    extra = 0
    fields = ["order", "slug", "name", "weight", "owner"]
    autocomplete_fields = ["owner"]
    show_change_link = True


@admin.register(Perspective)
class PerspectiveAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_outcome", "weight", "order", "org"]
    list_filter = ["org", "is_outcome"]
    search_fields = ["name", "slug"]
    list_select_related = ["org"]
    ordering = ["org__name", "order"]
    autocomplete_fields = ["org"]
    inlines = [ObjectiveInline]

    def save_formset(self, request, form, formset, change):
        # Objectives added inline belong to the perspective's organisation.
        for obj in formset.save(commit=False):
            obj.org = form.instance.org
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "perspective", "weight", "order", "owner", "org"]
    list_filter = ["org", "perspective__slug"]
    search_fields = ["name", "slug", "perspective__name"]
    list_select_related = ["org", "perspective", "owner"]
    autocomplete_fields = ["org", "perspective", "owner"]


@admin.register(ObjectiveLink)
class ObjectiveLinkAdmin(admin.ModelAdmin):
    list_display = ["cause", "effect", "note", "org"]
    list_filter = ["org"]
    search_fields = ["cause__name", "effect__name", "note"]
    list_select_related = ["org", "cause", "effect"]
    autocomplete_fields = ["org", "cause", "effect"]
