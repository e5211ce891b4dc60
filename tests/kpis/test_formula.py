from __future__ import annotations

import pytest

from kpis import formula


def test_arithmetic_precedence_parentheses_and_unary_minus():
    assert formula.evaluate(formula.parse("-(1 + 2) * 3 - 4 / 2"), {}) == -11
    assert formula.evaluate(formula.parse("a × 2 ÷ b"), {"a": 3, "b": 4}) == 1.5


def test_division_by_zero_and_missing_operands_are_null():
    node = formula.parse("won_revenue / market_size")
    assert formula.evaluate(node, {"won_revenue": 10, "market_size": 0}) is None
    assert formula.evaluate(node, {"won_revenue": 10, "market_size": None}) is None
    assert formula.evaluate(node, {"won_revenue": 10, "market_size": 40}) == 0.25


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("a +", "ends too early"),
        ("(a", "missing ')'"),
        ("a $ b", "unexpected character '$' at position 3"),
        ("a b", "unexpected 'b'"),
        ("__import__('os')", "unexpected character"),
    ],
)
def test_syntax_errors_name_the_problem(text, message):
    with pytest.raises(
        formula.FormulaError, match=message.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")
    ):
        formula.parse(text)


def test_validate_refuses_unknown_slugs_and_cycles():
    with pytest.raises(formula.FormulaError, match="unknown KPI nope"):
        formula.validate("share", "won / nope", {}, ["won", "share"])
    with pytest.raises(formula.FormulaError, match="circular reference: a → b → c → a"):
        formula.validate("a", "b + 1", {"b": "c * 2", "c": "a"}, ["a", "b", "c"])
    with pytest.raises(formula.FormulaError, match="circular reference: a → a"):
        formula.validate("a", "a + 1", {}, ["a"])
    assert formula.references(formula.validate("s", "won / size", {}, ["won", "size"])) == {"won", "size"}


def test_months_is_the_periods_length_reserved_beside_the_kpi_slugs():
    node = formula.validate("share", "won / (size * months / 12)", {}, ["won", "size", "share"])
    assert formula.references(node) == {"won", "size", "months"}
    # The evaluator resolves it per period: a quarter of an annual 1200 is 300.
    assert formula.evaluate(node, {"won": 150, "size": 1200, "months": 3}) == 0.5
    with pytest.raises(formula.FormulaError, match="'months' is a reserved name"):
        formula.validate("months", "won * 2", {}, ["won"])


def test_evaluation_order_puts_dependencies_first():
    order = formula.evaluation_order({"x": "y + 1", "y": "won * 2", "z": "x + y"})
    assert order.index("y") < order.index("x") < order.index("z")


@pytest.mark.django_db
def test_updating_a_formula_kpi_validates_it_against_the_other_kpis(build):
    from django.core.exceptions import ValidationError

    from kpis.services import kpi_update

    b = build()
    share = b.kpi("market_share")
    with pytest.raises(ValidationError, match="unknown KPI market_sise"):
        kpi_update(kpi=share, formula="won_revenue / market_sise")
    with pytest.raises(ValidationError, match="missing"):
        kpi_update(kpi=share, formula="won_revenue / (market_size")
    # market_share = won_revenue / market_size, so won_revenue cannot be defined through market_share.
    with pytest.raises(ValidationError, match="circular reference: won_revenue → market_share → won_revenue"):
        kpi_update(kpi=b.kpi("won_revenue"), source="formula", formula="market_share * 2", metric="")
    kpi_update(kpi=share, formula="gross_profit / market_size")
    share.refresh_from_db()
    assert share.formula == "gross_profit / market_size"


@pytest.mark.django_db
def test_creating_a_kpi_validates_its_formula(build):
    from django.core.exceptions import ValidationError

    from kpis.models import KPI
    from kpis.services import kpi_create

    b = build()
    objective = b.kpi("market_share").objective
    with pytest.raises(ValidationError, match="unknown KPI nope"):
        kpi_create(
            org=b.org,
            objective=objective,
            slug="x",
            name="X",
            unit="number",
            source="formula",
            formula="nope",
        )
    assert not KPI.objects.filter(org=b.org, slug="x").exists()
    kpi = kpi_create(
        org=b.org,
        objective=objective,
        slug="x",
        name="X",
        unit="number",
        source="formula",
        formula="won_deals * 2",
    )
    assert kpi.pk


@pytest.mark.django_db
def test_a_metric_kpi_is_validated_against_the_catalog(build):
    from django.core.exceptions import ValidationError

    b = build()
    bad_metric = b.kpi("win_rate")
    bad_metric.metric = "win_ratio"
    with pytest.raises(ValidationError, match="Unknown metric"):
        bad_metric.full_clean()
    filtered = b.kpi("win_rate")
    filtered.metric_filter = {"category": "product"}
    with pytest.raises(ValidationError, match="win_rate does not accept the filter category"):
        filtered.full_clean()
    certified = b.kpi("product_certified_reps")
    certified.full_clean()  # category is a certification filter
    certified.metric_filter = {"kind": "diversity"}
    with pytest.raises(ValidationError, match="accepted: category, type"):
        certified.full_clean()
