"""The base of the data-entry forms of reps' records (deals, certifications, programme participation).

A form parses and checks the input; the app's service does the write (and may refuse it, e.g. a locked
period): ``add_service_errors`` puts its messages beside the fields they name. Choices come from the
membership's organisation only, so an id of another organisation is an invalid choice beside its field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from . import access
from .models import Membership, Role


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
