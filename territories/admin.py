from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from .models import PATH_SEPARATOR, Rep, Territory, TerritoryAssignment
from .services import territory_move, territory_rename

TREE_FIELDS = ("treebeard_ref_node", "treebeard_position")


def _halfway_taken(territory: Territory, name: str) -> bool:
    parent = Territory.objects.get_parent(territory, update=True)
    halfway = f"{parent.full_name}{PATH_SEPARATOR}{name.strip()}" if parent else name.strip()
    return (
        Territory.objects.filter(org_id=territory.org_id, full_name=halfway).exclude(pk=territory.pk).exists()
    )


class TerritoryMoveForm(MoveNodeForm):
    """Keeps a node inside its organisation's one tree and names its path before it is saved.

    A new territory is added by treebeard; an existing one is moved and renamed by the services, which
    rename the paths below it and mark the organisation's rollups stale.
    """

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

    def save(self, commit=True):
        if self.instance._state.adding:
            return super().save(commit=commit)
        stored = Territory.objects.get(pk=self.instance.pk)
        other_fields = [f for f in self.changed_data if f != "name" and f not in TREE_FIELDS]
        ref = self.cleaned_data.get("treebeard_ref_node")
        moving = ref is not None and bool(set(TREE_FIELDS) & set(self.changed_data))
        name = self.cleaned_data["name"]
        steps = []
        if "name" in self.changed_data:
            steps.append(lambda: territory_rename(territory=stored, name=name))
        if moving:
            position = self.cleaned_data["treebeard_position"]
            steps.append(lambda: territory_move(territory=stored, target=ref, position=position))
            # clean() checked the final path; the halfway one (new name, old place) may be taken.
            if len(steps) == 2 and _halfway_taken(stored, name):
                steps.reverse()
        with transaction.atomic():
            if other_fields:
                self.instance.save(update_fields=other_fields)
            for step in steps:
                step()
        self.instance.refresh_from_db()
        if not commit:
            self.save_m2m = self._save_m2m
        return self.instance


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

    def move_node(self, request):
        """Drag-and-drop moves go through ``territory_move``: only within one organisation's tree."""
        node = Territory.objects.filter(pk=request.POST.get("node")).first()
        target = Territory.objects.filter(pk=request.POST.get("target")).first()
        relation = request.POST.get("relation")
        if node is None or target is None or relation not in ("child", "sibling"):
            return super().move_node(request)  # treebeard answers malformed requests
        if not self.has_change_permission(request, node):
            raise PermissionDenied
        try:
            territory_move(territory=node, target=target, position=f"sorted-{relation}")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseBadRequest("Move refused")
        messages.info(
            request, f'Moved "{node.name}" {"under" if relation == "child" else "beside"} "{target}".'
        )
        return HttpResponse("OK")


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
