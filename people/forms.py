"""Data entry for certifications and programme participation (the writes are in ``services``)."""

from __future__ import annotations

from typing import Any

from scorecard.forms import EntryForm, date_input

from .models import Certification, CertificationType, Program, ProgramParticipation


class CertificationForm(EntryForm):
    class Meta:
        model = Certification
        fields = ["rep", "type", "earned", "expires", "note"]
        labels = {"rep": "Rep", "type": "Certification", "note": "Evidence note"}
        help_texts = {
            "expires": "Leave empty to use the certification's validity (none: it does not expire).",
        }
        widgets = {"earned": date_input(), "expires": date_input()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["type"].queryset = CertificationType.objects.filter(org=self.membership.org).order_by(
            "category", "name"
        )
        fields["type"].empty_label = "Choose a certification"


class ParticipationForm(EntryForm):
    class Meta:
        model = ProgramParticipation
        fields = ["rep", "program", "start", "end"]
        labels = {"rep": "Rep", "program": "Programme", "start": "Joined", "end": "Left"}
        help_texts = {"end": "Leave empty while taking part."}
        widgets = {"start": date_input(), "end": date_input()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["program"].queryset = Program.objects.filter(org=self.membership.org).order_by("kind", "name")
        fields["program"].empty_label = "Choose a programme"
