"""Forms of the scorecard designer: what an admin may set on a perspective, an objective and a KPI."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse

from perspectives.models import Objective, Perspective
from scorecard.models import Organization

from . import catalog
from .models import KPI

REASON_HELP = "Why this change? Kept in the history with your name and the time."


def _choices(form: forms.BaseForm, name: str, queryset: QuerySet) -> None:
    """Limit a model choice field to the organisation's rows (anything else is "not one of the choices")."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


class ReasonMixin(forms.Form):
    reason = forms.CharField(
        label="Reason for the change", required=False, max_length=500, help_text=REASON_HELP
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels read "Weight", as everywhere else in the app
        super().__init__(*args, **kwargs)


class PerspectiveForm(ReasonMixin, forms.ModelForm):
    class Meta:
        model = Perspective
        fields = ["name", "description", "value_proposition", "weight", "order"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "value_proposition": forms.Textarea(attrs={"rows": 3}),
        }


class ObjectiveForm(ReasonMixin, forms.ModelForm):
    causes = forms.ModelMultipleChoiceField(
        queryset=Objective.objects.none(),
        required=False,
        label="Driven by (causes)",
        help_text="Objectives whose progress should move this one (arrows into it on the strategy map).",
    )
    effects = forms.ModelMultipleChoiceField(
        queryset=Objective.objects.none(),
        required=False,
        label="Drives (effects)",
        help_text="Objectives this one should move (arrows out of it).",
    )

    class Meta:
        model = Objective
        fields = ["perspective", "name", "slug", "description", "weight", "owner", "order"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.org = org
        others = (
            Objective.objects.filter(org=org)
            .select_related("perspective")
            .order_by("perspective__order", "order")
        )
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
            self.initial.setdefault("causes", [link.cause_id for link in self.instance.causes.all()])
            self.initial.setdefault("effects", [link.effect_id for link in self.instance.effects.all()])
        _choices(self, "causes", others)
        _choices(self, "effects", others)
        _choices(self, "perspective", Perspective.objects.filter(org=org))
        _choices(self, "owner", get_user_model().objects.filter(memberships__org=org).order_by("first_name"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        both = set(data.get("causes") or ()) & set(data.get("effects") or ())
        if both:
            names = ", ".join(sorted(o.name for o in both))
            self.add_error("effects", f"{names} cannot be both a cause and an effect.")
        return data


class KPIForm(ReasonMixin, forms.ModelForm):
    metric = forms.ChoiceField(
        required=False,
        choices=[("", "—")] + [(m.slug, f"{m.label} ({m.slug})") for m in catalog.METRICS],
        help_text="For a built-in metric: what the engine counts from deals, certifications and programmes.",
    )
    metric_filter = forms.CharField(
        required=False,
        label="Metric filter",
        help_text='Optional, as JSON: e.g. {"category": "product"} for certifications, {"product_line": "Cloud"}.',
    )

    class Meta:
        model = KPI
        fields = [
            "objective", "name", "slug", "description", "source", "metric", "metric_filter", "formula",
            "unit", "direction", "weight", "default_goal", "default_red_flag", "tolerance", "min_value", "max_value", "transform",
            "time_aggregation", "tree_aggregation", "is_cumulative", "is_forward_looking", "order", "active",
        ]  # fmt: skip
        labels = {"active": "Active (untick to retire: its history stays, it leaves the scorecard)"}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.org = org
        _choices(
            self,
            "objective",
            Objective.objects.filter(org=org)
            .select_related("perspective")
            .order_by("perspective__order", "order"),
        )
        if self.instance.pk and self.instance.metric_filter:
            self.initial["metric_filter"] = json.dumps(self.instance.metric_filter)
        # The formula is checked as it is typed: its error, or its value at the root (htmx).
        self.fields["formula"].widget.attrs.update(
            {
                "hx-post": reverse("designer_formula_check"),
                "hx-trigger": "input changed delay:400ms, change",
                "hx-target": "#formula-check",
                "hx-swap": "outerHTML",
                "hx-include": "[name=slug],[name=source],[name=unit]",
                "autocomplete": "off",
                "spellcheck": "false",
                "aria-describedby": "formula-check",
            }
        )
        self.fields["formula"].help_text = (
            "For a formula KPI: other KPIs' slugs with + − × ÷ and brackets, e.g. won_revenue / market_size;"
            " months is the period's length in months."
        )

    def clean_metric_filter(self) -> dict:
        text = (self.cleaned_data.get("metric_filter") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (character {exc.pos + 1}).") from exc
        if not isinstance(value, dict) or not all(isinstance(v, str | int) for v in value.values()):
            raise forms.ValidationError('Write the filter as {"name": "value", …}.')
        return value
