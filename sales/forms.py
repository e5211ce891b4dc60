"""Forms of the sales pages: they parse input; the services decide. The opportunity form of the deal
entry pages (the write is ``services.opportunity_save``) and the admin's product form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from scorecard import access
from scorecard.forms import EntryForm, Form, date_input
from territories.models import Rep

from .models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay


class OpportunityForm(EntryForm):
    external_id = forms.CharField(
        label="Reference",
        max_length=100,
        required=False,
        help_text="The deal's id in your CRM; leave empty and one is made up.",
    )
    amount = forms.DecimalField(
        label="Amount",
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=4,
        error_messages={"min_value": "An amount cannot be negative."},
    )

    class Meta:
        model = Opportunity
        fields = [
            "external_id",
            "rep",
            "account",
            "stage",
            "created_date",
            "engage_date",
            "close_date",
            "amount",
            "profit",
            "products",
            "channel",
            "partner",
            "strategic_play",
            "poc",
            "deliverables",
            "identified_by",
        ]
        labels = {
            "rep": "Owner",
            "created_date": "Created",
            "engage_date": "Engaged",
            "close_date": "Close date",
            "poc": "Proof of concept",
            "identified_by": "Identified by",
            "deliverables": "Technical deliverables used",
        }
        help_texts = {
            "rep": "",
            "close_date": "Expected close while the deal is open; the actual one once won or lost.",
            "profit": "Gross profit, if known (a loss is negative).",
            "partner": "Only with the partner channel.",
            "poc": "None, running, or its outcome.",
            "identified_by": "The rep who found the opportunity.",
        }
        widgets = {
            "created_date": date_input(),
            "engage_date": date_input(),
            "close_date": date_input(),
            "products": forms.CheckboxSelectMultiple,
            "deliverables": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org = self.membership.org
        fields: Any = self.fields
        fields["account"].queryset = Account.objects.filter(org=org).order_by("name")
        fields["products"].queryset = Product.objects.filter(org=org).order_by("line", "name")
        fields["products"].label_from_instance = lambda product: f"{product.name} ({product.line})"
        fields["deliverables"].queryset = Deliverable.objects.filter(org=org).order_by("name")
        fields["partner"].queryset = Partner.objects.filter(org=org).order_by("name")
        fields["strategic_play"].queryset = StrategicPlay.objects.filter(org=org).order_by("name")
        # Among the reps the user may see; a deal's current value stays choosable, so saving a deal
        # never drops a colleague credited by an import.
        current = self.instance.identified_by_id
        fields["identified_by"].queryset = Rep.objects.filter(
            Q(pk__in=access.visible_reps(self.membership).values("pk")) | Q(pk=current or 0), org=org
        ).order_by("name")
        for name, empty in (
            ("account", "No account"),
            ("partner", "No partner"),
            ("strategic_play", "None"),
            ("identified_by", "Not recorded"),
        ):
            fields[name].empty_label = empty
        fields["profit"].widget.attrs["step"] = "any"
        fields["amount"].widget.attrs["step"] = "any"
        if self.instance.pk:
            fields["external_id"].help_text = "The deal's id in your CRM."

    def clean_external_id(self) -> str:
        value = self.cleaned_data["external_id"].strip()
        if not value:
            return self.instance.external_id  # a new deal gets one from the service
        taken = Opportunity.objects.filter(org=self.membership.org, external_id=value).exclude(
            pk=self.instance.pk
        )
        if taken.exists():
            raise forms.ValidationError(f"Another deal already has the reference {value}.")
        return value


class ProductForm(Form):
    name = forms.CharField(label="Name", max_length=200)
    line = forms.CharField(
        label="Line or brand", max_length=100, help_text="The cross-brand KPIs count customers across lines."
    )
    list_price = forms.DecimalField(
        label="List price",
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="Values open deals without an amount.",
    )
    description = forms.CharField(label="Description", max_length=300, required=False)
