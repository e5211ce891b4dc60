"""Forms of the sales pages: they parse input; the services decide. The opportunity form of the deal
entry pages (the write is ``services.opportunity_save``), its account picker, and the admin's product
form."""

from __future__ import annotations

from typing import Any, NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils.safestring import SafeString

from scorecard import access
from scorecard.forms import EntryForm, Form, date_input
from territories.models import Rep

from .models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay


class Picked(NamedTuple):
    """What the account picker posts: the chosen account's id (its hidden input) and the name in its
    text box (None from a client that posts the id alone)."""

    pk: str
    text: str | None


class AccountPicker(forms.Widget):
    """A search-as-you-type combobox (WAI-ARIA combobox with a listbox popup) in place of a ``<select>``
    of every account: a text box named ``<name>_name`` and a hidden input ``<name>`` with the chosen
    account's id. static/js/account_picker.js fills the list from ``search_url``; the page carries only
    the current account's name. Rendered with the project's templates (the form renderer does not see
    them)."""

    template_name = "sales/account_picker.html"

    def __init__(self, search_url: Any = "", attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.search_url = search_url

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Picked:
        return Picked(data.get(name) or "", data.get(f"{name}_name"))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and f"{name}_name" not in data

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        picked = value if isinstance(value, Picked) else Picked("", "")
        context["widget"].update(pk=picked.pk, text=picked.text or "", search_url=str(self.search_url))
        return context

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return SafeString(render_to_string(self.template_name, self.get_context(name, value, attrs)))


class AccountField(forms.ModelChoiceField):
    """An account of the organisation (the queryset), picked with ``AccountPicker``. An emptied text box
    means no account; a name typed without picking (no JavaScript, or not picked from the list) counts
    when exactly one account has it; an id outside the queryset is an invalid choice."""

    default_error_messages = {
        "invalid_choice": "Choose an account of your organisation from the list.",
        "unknown": "No account is named “%(name)s”: type part of its name and pick it from the list.",
        "ambiguous": "Several accounts are named “%(name)s”: pick the one you mean from the list.",
    }

    def prepare_value(self, value: Any) -> Picked:
        """The widget's value: a bound form's ``Picked`` as posted, else the initial account's id and name."""
        if isinstance(value, Picked):
            return value
        pk = super().prepare_value(value)
        if pk in self.empty_values:
            return Picked("", "")
        name = self.queryset.filter(pk=pk).values_list("name", flat=True).first()  # type: ignore[union-attr]
        return Picked(str(pk), name or "")

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, Picked):
            return super().to_python(value)
        if value.text is None:
            return super().to_python(value.pk)
        text = value.text.strip()
        if not text:
            return None
        account = super().to_python(value.pk)
        if account is not None and account.name.casefold() == text.casefold():
            return account
        matches = list(self.queryset.filter(name__iexact=text)[:2])  # type: ignore[union-attr]
        if len(matches) == 1:
            return matches[0]
        code = "ambiguous" if matches else "unknown"
        raise ValidationError(self.error_messages[code], code=code, params={"name": text})

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            account = self.to_python(data)
        except ValidationError:
            return True
        before = super().prepare_value(initial)
        return str(account.pk if account else "") != str("" if before in self.empty_values else before)


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
        field_classes = {"account": AccountField}
        help_texts = {
            "account": "Type part of its name and pick it from the list; empty for none.",
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
            "account": AccountPicker(search_url=reverse_lazy("sales:account_search")),
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
