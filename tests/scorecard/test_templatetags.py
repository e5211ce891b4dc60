"""scorecard_format: stored numbers as people read them."""

from __future__ import annotations

from scorecard.templatetags.scorecard_format import kpi_value, unit_label


def test_kpi_value_formats_each_unit():
    assert kpi_value(None, "count") == "—"
    assert kpi_value("0.350000", "fraction") == "35%"
    assert kpi_value("0.125", "fraction") == "12.5%"
    assert kpi_value("-5.000000", "percent") == "-5%"
    assert kpi_value("1250000.000000", "currency", "USD") == "$1,250,000"
    assert kpi_value("99.5", "currency", "SEK") == "99.5 SEK"
    assert kpi_value("60", "days") == "60 days"
    assert kpi_value("0.50", "number") == "0.5"
    assert unit_label("currency", "EUR") == "EUR"
    assert unit_label("fraction") == "Percentage"
