"""Forms of the territory editor and the reps pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from scorecard.forms import DateInput, Form, reason_field

from .models import Territory


class TerritoryChoiceField(forms.ModelChoiceField):
    """A territory named by its full path (the tree is ordered by path, so parents come first)."""

    def label_from_instance(self, obj: Any) -> str:
        return obj.full_name


class RenameForm(Form):
    name = forms.CharField(label="New name", max_length=120)
    reason = reason_field()


class AddChildForm(Form):
    name = forms.CharField(label="Name of the new territory", max_length=120)


class MoveForm(Form):
    parent = TerritoryChoiceField(label="New parent", queryset=Territory.objects.none(), empty_label=None)
    reason = reason_field()

    def __init__(self, *args: Any, parents: QuerySet[Territory], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]


class RetireForm(Form):
    on = forms.DateField(
        label="Retired from", widget=DateInput(), help_text="The first day it takes no assignment."
    )
    reason = reason_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()


class ReinstateForm(Form):
    reason = reason_field()


class RepForm(Form):
    """Hire (with a first territory) or edit a rep (with a leave date)."""

    name = forms.CharField(label="Name", max_length=200)
    email = forms.EmailField(label="Email", required=False)
    hire_date = forms.DateField(label="Hire date", widget=DateInput())

    def __init__(self, *args: Any, territories: QuerySet[Territory] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if territories is not None:
            self.fields["territory"] = TerritoryChoiceField(
                label="Territory",
                queryset=territories,
                required=False,
                empty_label="— none yet —",
                help_text="Assigned from the hire date.",
            )
        else:
            self.fields["hire_date"].required = False
            self.fields["leave_date"] = forms.DateField(
                label="Leave date",
                required=False,
                widget=DateInput(),
                help_text="The last day with the company: assignments running then end that day.",
            )
            self.fields["reason"] = reason_field()


class AssignForm(Form):
    territory = TerritoryChoiceField(label="Territory", queryset=Territory.objects.none())
    start = forms.DateField(
        label="From", widget=DateInput(), help_text="The assignment running then ends the day before."
    )
    reason = reason_field()

    def __init__(self, *args: Any, territories: QuerySet[Territory], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["territory"].queryset = territories  # type: ignore[attr-defined]
        self.fields["start"].initial = timezone.localdate()
