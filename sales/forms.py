"""Forms of the sales pages: they parse input; the services decide."""

from __future__ import annotations

from django import forms

from scorecard.forms import Form


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
