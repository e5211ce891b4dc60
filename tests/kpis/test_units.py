"""What a manual entry may be, by unit and by the KPI's own range (kpis.units), and measurement_set
refusing the rest: the validation table of the manual-entry grid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kpis import units
from kpis.models import KPI, Measurement
from kpis.services import measurement_set

D = Decimal

# (unit, low, high, typed, stored value or the start of the refusal)
TABLE = [
    # percentages 0–100
    ("percent", None, None, "0", D("0")),
    ("percent", None, None, "100", D("100")),
    ("percent", None, None, "55.5", D("55.5")),
    ("percent", None, None, "100.01", "Share is between 0 and 100: 100.01 is outside it."),
    ("percent", None, None, "-1", "Share is between 0 and 100: -1 is outside it."),
    # NPS −100..100 (the KPI's own range on a score)
    ("score", D(-100), D(100), "-100", D("-100")),
    ("score", D(-100), D(100), "100", D("100")),
    ("score", D(-100), D(100), "−35", D("-35")),  # a typographic minus
    ("score", D(-100), D(100), "101", "Share is between -100 and 100: 101 is outside it."),
    ("score", D(-100), D(100), "-100.5", "Share is between -100 and 100: -100.5 is outside it."),
    # fractions 0–1
    ("fraction", None, None, "0.35", D("0.35")),
    ("fraction", None, None, "1", D("1")),
    ("fraction", None, None, "35", "Share is between 0 and 1 (a fraction: 0.35 is 35 %): 35 is outside it."),
    # counts: whole numbers, 0 or more
    ("count", None, None, "12", D("12")),
    ("count", None, None, "12.5", "Share is a count: enter a whole number, not 12.5."),
    ("count", None, None, "-1", "Share is a whole number of 0 or more: -1 is outside it."),
    # currency ≥ 0 unless the KPI allows negatives
    ("currency", None, None, "1,250,000.50", D("1250000.5")),
    ("currency", None, None, "-5", "Share is a number of 0 or more: -5 is outside it."),
    ("currency", D(-1000000), None, "-5", D("-5")),
    # scores and numbers without a range of their own take any number
    ("score", None, None, "-7.25", D("-7.25")),
    ("number", None, None, "123456", D("123456")),
    # no text in numbers
    ("number", None, None, "12abc", "Enter a number, like 42 or 3.5: “12abc” is not one."),
    ("number", None, None, "1e3", "Enter a number, like 42 or 3.5: “1e3” is not one."),
    ("number", None, None, "35 %", "Enter a number, like 42 or 3.5: “35 %” is not one."),
    ("number", None, None, "NaN", "Enter a number, like 42 or 3.5: “NaN” is not one."),
    ("number", None, None, "1,23", "Enter a number, like 42 or 3.5: “1,23” is not one."),
    ("number", None, None, "", "Enter a number, like 42 or 3.5."),
    (
        "number",
        None,
        None,
        "123456789012345",
        "123456789012345 is too large: at most 14 digits before the point.",
    ),
]


@pytest.mark.parametrize(("unit", "low", "high", "typed", "expected"), TABLE)
def test_an_entry_is_a_number_in_its_kpis_range(unit, low, high, typed, expected):
    if isinstance(expected, Decimal):
        assert units.parse_entry(typed, unit, "Share", low=low, high=high) == expected
    else:
        with pytest.raises(units.EntryError) as refused:
            units.parse_entry(typed, unit, "Share", low=low, high=high)
        assert str(refused.value) == expected


def test_numbers_from_code_pass_as_they_are_and_are_rounded_to_the_stored_places():
    assert units.parse_number(3) == D("3")
    assert units.parse_number(0.1) == D("0.1")
    assert units.parse_number(D("0.12345678")) == D("0.123457")
    with pytest.raises(units.EntryError):
        units.parse_number(float("inf"))
    with pytest.raises(units.EntryError):
        units.parse_number(True)


def test_ranges_read_in_a_few_words_for_the_column_headings():
    assert units.describe(units.entry_range("score", D(-100), D(100))) == "\u2212100 to 100"
    assert units.describe(units.entry_range("count")) == "whole number, 0 or more"
    assert units.describe(units.entry_range("fraction")) == "0 to 1 (a fraction: 0.35 is 35 %)"
    assert units.describe(units.entry_range("number")) == "any number"


@pytest.fixture
def acme(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory.create(name="Acme", root_name="Acme")


def test_the_template_gives_nps_its_scale_and_measurement_set_refuses_outside_it(acme):
    nps = KPI.objects.get(org=acme, slug="nps")
    assert (nps.min_value, nps.max_value) == (D(-100), D(100))
    root = acme.root_territory()
    with pytest.raises(ValidationError) as refused:
        measurement_set(kpi=nps, period="2024-Q1", value="101", territory=root)
    assert refused.value.message_dict == {
        "value": ["Net promoter score is between -100 and 100: 101 is outside it."]
    }
    with pytest.raises(ValidationError) as refused:
        measurement_set(kpi=nps, period="2024-Q1", value="12abc", territory=root)
    assert "“12abc” is not one" in refused.value.messages[0]
    assert not Measurement.objects.filter(kpi=nps).exists()
    assert measurement_set(kpi=nps, period="2024-Q1", value="-40", territory=root).value == D(-40)


def test_a_fraction_kpi_refuses_a_percentage_typed_as_a_whole_number(acme):
    innovation = KPI.objects.get(org=acme, slug="innovation_rating")
    with pytest.raises(ValidationError, match="0.35 is 35 %"):
        measurement_set(kpi=innovation, period="2024-Q1", value=55, territory=acme.root_territory())


def test_a_kpis_range_must_not_be_upside_down(acme):
    nps = KPI.objects.get(org=acme, slug="nps")
    nps.min_value, nps.max_value = D(10), D(5)
    with pytest.raises(ValidationError, match="cannot be below the lowest"):
        nps.full_clean()
