from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseBadRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from .models import PATH_SEPARATOR, Rep, Territory, TerritoryAssignment


def refresh_full_names(org_id: int) -> None:
    """Recompute ``full_name`` (names from the root joined by "/") for one organisation's tree."""
    names: dict[str, str] = {}
    changed = []
    for node in Territory.objects.filter(org_id=org_id).order_by("path"):
        parent = names.get(node.path[: -Territory.steplen])
        full_name = f"{parent}{PATH_SEPARATOR}{node.name}" if parent else node.name
        names[node.path] = full_name
        if node.full_name != full_name:
            node.full_name = full_name
            changed.append(node)
    Territory.objects.bulk_update(changed, ["full_name"])


class TerritoryMoveForm(MoveNodeForm):
    """Keeps a node inside its organisation's one tree and names its path before it is saved."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            field = self.fields["treebeard_ref_node"]
            field.queryset = field.queryset.filter(org_id=self.instance.org_id)

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("org") or getattr(self.instance, "org", None)
        ref = cleaned.get("treebeard_ref_node")
        position = cleaned.get("treebeard_position", "")
        name = cleaned.get("name")
        if org is None or name is None:
            return cleaned
        if ref is None or (position.endswith("sibling") and ref.is_root()):
            other_root = Territory.objects.get_root_nodes().filter(org=org).exclude(pk=self.instance.pk)
            if other_root.exists():
                raise forms.ValidationError(
                    "An organisation has one root territory; place this one below it."
                )
            parent = None
        else:
            if ref.org_id != org.pk:
                raise forms.ValidationError("A territory can only be placed in its own organisation's tree.")
            parent = ref if position.endswith("child") else Territory.objects.get_parent(ref)
        full_name = f"{parent.full_name}{PATH_SEPARATOR}{name}" if parent else name
        clash = Territory.objects.filter(org=org, full_name=full_name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"{full_name!r} already exists.")
        self.instance.full_name = full_name
        return cleaned


@admin.register(Territory)
class TerritoryAdmin(TreeAdmin):
    form = movenodeform_factory(Territory, form=TerritoryMoveForm, exclude=("full_name",))
    list_display = ["name", "full_name", "owner", "owner_name", "org"]
    list_filter = ["org"]
    search_fields = ["name", "full_name", "owner_name"]
    list_select_related = ["org", "owner"]
    autocomplete_fields = ["org", "owner"]
    readonly_fields = ["full_name"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a subtree to another organisation would strand its reps, targets and deals.
        return [*self.readonly_fields, "org"] if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        refresh_full_names(obj.org_id)

    def move_node(self, request):
        """Drag-and-drop moves: only within one organisation's tree, never beside its root."""
        node = Territory.objects.filter(pk=request.POST.get("node")).first()
        target = Territory.objects.filter(pk=request.POST.get("target")).first()
        if node is None or target is None:
            return super().move_node(request)
        if node.org_id != target.org_id or (request.POST.get("relation") == "sibling" and target.is_root()):
            messages.error(request, "A territory can only move inside its own organisation's tree.")
            return HttpResponseBadRequest("Move outside the organisation's tree")
        with transaction.atomic():
            response = super().move_node(request)
            refresh_full_names(node.org_id)
        return response


class AssignmentInline(admin.TabularInline):
    model = TerritoryAssignment
    extra = 0
    fields = ["territory", "start", "end"]
    autocomplete_fields = ["territory"]


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "user", "hire_date", "leave_date", "org"]
    list_filter = ["org"]
    search_fields = ["name", "email", "external_id", "user__username"]
    list_select_related = ["org", "user"]
    autocomplete_fields = ["org", "user"]
    inlines = [AssignmentInline]

    def save_formset(self, request, form, formset, change):
        # Assignments added inline belong to the rep's organisation.
        for obj in formset.save(commit=False):
            obj.org = form.instance.org
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(TerritoryAssignment)
class TerritoryAssignmentAdmin(admin.ModelAdmin):
    list_display = ["rep", "territory", "start", "end", "org"]
    list_filter = ["org"]
    search_fields = ["rep__name", "territory__full_name"]
    date_hierarchy = "start"
    list_select_related = ["org", "rep", "territory"]
    autocomplete_fields = ["org", "rep", "territory"]
