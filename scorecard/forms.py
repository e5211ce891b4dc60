"""Forms the pages share: no label colon, a service's refusal shown beside a field, the members and
settings forms of the management pages, and the base of the data-entry forms of reps' records
(``EntryForm``: choices from the membership's organisation only, so another organisation's id is an
invalid choice beside its field).

Forms only parse and check input; the writes and the rules that need the database are the services'
(they raise ``ValidationError``, keyed by field where they can say which one).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from . import access
from .models import Membership, Role

MONTHS = [
    (1, "January"),
    (2, "February"),
    (3, "March"),
    (4, "April"),
    (5, "May"),
    (6, "June"),
    (7, "July"),
    (8, "August"),
    (9, "September"),
    (10, "October"),
    (11, "November"),
    (12, "December"),
]

REASON_HELP = "Optional; kept in the history with who and when."


class Form(forms.Form):
    """A form whose labels have no trailing colon (the component adds the punctuation it needs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DateInput(forms.DateInput):
    """A native date picker; the value is ISO (what the browser sends and the history shows)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def reason_field(label: str = "Reason") -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=500, help_text=REASON_HELP)


def add_service_errors(form: forms.Form, error: ValidationError, field: str | None = None) -> None:
    """Put a service's ``ValidationError`` beside the fields it names; the rest beside ``field`` (or at
    the top of the form when None)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            target = name if name in form.fields else None if name == NON_FIELD_ERRORS else field
            for e in errors:
                form.add_error(target, e)
    else:
        for message in error.messages:
            form.add_error(field, message)


# --- members ----------------------------------------------------------------------------------------


class _ScopeForm(Form):
    """A role and the scope it needs; the choices are the organisation's territories and reps."""

    role = forms.ChoiceField(label="Role", choices=[])
    territory: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label="Territory (managers)",
        queryset=None,
        required=False,
        help_text="A manager sees this territory and everything below it.",
    )
    rep: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label="Rep record (reps)", queryset=None, required=False, help_text="A rep sees their own records."
    )

    def __init__(self, *args: Any, territories: Any, reps: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = Role.choices  # type: ignore[attr-defined]
        self.fields["territory"].queryset = territories  # type: ignore[attr-defined]
        self.fields["territory"].label_from_instance = lambda t: t.full_name  # type: ignore[attr-defined]
        self.fields["rep"].queryset = reps  # type: ignore[attr-defined]


class InviteForm(_ScopeForm):
    email = forms.EmailField(label="Email", max_length=150, help_text="Also their username to sign in.")
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    field_order = ["email", "first_name", "last_name", "role", "territory", "rep"]


class RoleForm(_ScopeForm):
    reason = reason_field()


class ReasonForm(Form):
    reason = reason_field()


# --- organisation settings ------------------------------------------------------------------------------


class SettingsForm(Form):
    name = forms.CharField(label="Name", max_length=200)
    currency = forms.CharField(
        label="Currency", max_length=3, min_length=3, help_text="ISO 4217 code of the amounts, e.g. USD, EUR."
    )
    fiscal_year_start_month = forms.TypedChoiceField(
        label="Fiscal year starts in", choices=MONTHS, coerce=int, help_text="Years and quarters follow it."
    )
    confirm = forms.BooleanField(
        label="I understand that the keys of years and quarters change, and every scorecard is recomputed",
        required=False,
    )
    reason = reason_field()


class OrganizationForm(Form):
    name = forms.CharField(label="Organisation name", max_length=200)
    slug = forms.SlugField(
        label="Short name",
        max_length=60,
        required=False,
        help_text="Letters, digits and dashes, used by the command-line tools; made from the name when empty.",
    )
    currency = forms.CharField(
        label="Currency", max_length=3, min_length=3, initial="USD", help_text="ISO 4217 code, e.g. USD, EUR."
    )
    fiscal_year_start_month = forms.TypedChoiceField(
        label="Fiscal year starts in", choices=MONTHS, coerce=int, initial=1
    )


# --- data entry of reps' records ---------------------------------------------------------------------


def date_input() -> forms.DateInput:
    """A native date picker; its value is always ISO (what the browser sends and shows)."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EntryForm(forms.ModelForm):
    """A rep's record: ``rep`` offers the reps the membership may enter records for (required but for an
    admin's house deals), and is left out for a rep, whose records are their own (the view sets it on
    the instance)."""

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.membership = membership
        if "rep" in self.fields:
            if membership.role == Role.REP:
                del self.fields["rep"]
            else:
                rep_field: Any = self.fields["rep"]
                rep_field.queryset = access.entry_reps(membership).order_by("name")
                # Rep-less (house) records, where the model allows them, are the admins' alone.
                if membership.role != Role.ADMIN:
                    rep_field.required = True
                rep_field.empty_label = "Choose a rep" if rep_field.required else "No rep (house account)"

    def focus(self) -> None:
        """Autofocus the first field with an error, else the first field: an editor swapped into the page
        (htmx) takes the focus, so keyboard and screen-reader users land in it."""
        errors = self.errors if self.is_bound else {}
        name = next((n for n in self.fields if n in errors), next(iter(self.fields), None))
        if name is not None:
            self.fields[name].widget.attrs["autofocus"] = True

    def add_service_errors(self, exc: ValidationError) -> None:
        """A service's refusal, beside the fields it names (at the top of the form otherwise)."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            self.add_error(field if field in self.fields and field != NON_FIELD_ERRORS else None, errors)
