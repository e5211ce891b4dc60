"""import_measurements and import_targets (DESIGN §5): keyed on KPI, scope and period; a new target
supersedes the old one and keeps it; locked periods refuse changes; every bad row is reported."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kpis.models import Measurement, Target
from scorecard.services import period_lock
from tests.factories import UserFactory

from .helpers import write_csv

MEASUREMENT_COLUMNS = ["kpi", "territory", "rep", "period", "value", "note"]
TARGET_COLUMNS = ["kpi", "territory", "rep", "period", "goal", "red_flag", "reason"]


def run(command: str, path, org: str = "acme") -> str:
    out = io.StringIO()
    call_command(command, str(path), "--org", org, stdout=out)
    return out.getvalue().splitlines()[0]


def rejected(command: str, path, org: str = "acme") -> list[str]:
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(command, str(path), "--org", org, stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines()


def exported(command: str, org: str = "acme") -> list[str]:
    out = io.StringIO()
    call_command(command, "-", "--org", org, stdout=out)
    return out.getvalue().splitlines()


MEASUREMENTS = [
    {"kpi": "nps", "territory": "Acme/East", "period": "2017-Q1", "value": "42", "note": "Survey of March"},
    {"kpi": "nps", "territory": "Acme", "period": "2017-Q1", "value": "38.5"},
    {"kpi": "csat", "rep": "Alice Smith", "period": "2017-02", "value": "87"},
]


def stored_measurements(org) -> set[tuple]:
    return {
        (
            m.kpi.slug,
            m.territory.full_name if m.territory else None,
            m.rep.name if m.rep else None,
            m.period,
            m.value,
            m.note,
        )
        for m in Measurement.objects.filter(org=org).select_related("kpi", "territory", "rep")
    }


def test_measurements_are_stored_per_scope_and_a_reimport_changes_nothing(acme, tmp_path):
    path = write_csv(tmp_path / "m.csv", MEASUREMENTS, MEASUREMENT_COLUMNS)
    assert run("import_measurements", path) == "3 row(s) into 'acme': 3 created, 0 updated, 0 unchanged"
    assert stored_measurements(acme) == {
        ("nps", "Acme/East", None, "2017-Q1", Decimal("42"), "Survey of March"),
        ("nps", "Acme", None, "2017-Q1", Decimal("38.5"), ""),
        ("csat", None, "Alice Smith", "2017-02", Decimal("87"), ""),
    }
    stamps = sorted(Measurement.objects.filter(org=acme).values_list("pk", "entered_at"))
    assert run("import_measurements", path) == "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged"
    assert sorted(Measurement.objects.filter(org=acme).values_list("pk", "entered_at")) == stamps
    changed = [{**MEASUREMENTS[0], "value": "45"}]
    assert run("import_measurements", write_csv(tmp_path / "c.csv", changed, MEASUREMENT_COLUMNS)) == (
        "1 row(s) into 'acme': 0 created, 1 updated, 0 unchanged"
    )
    assert Measurement.objects.get(org=acme, territory__full_name="Acme/East").value == Decimal("45")


def test_bad_measurement_rows_are_each_reported(acme, tmp_path):
    rows = [
        {"kpi": "won_revenue", "territory": "Acme", "period": "2017-Q1", "value": "1"},
        {"kpi": "nps", "territory": "Acme/West", "period": "2017-Q1", "value": "1"},
        {"kpi": "nps", "territory": "Acme", "rep": "Alice Smith", "period": "2017-Q1", "value": "1"},
        {"kpi": "nps", "period": "2017-Q1", "value": "1"},
        {"kpi": "nps", "territory": "Acme", "period": "2017-Q5", "value": "1"},
        {"kpi": "nps", "territory": "Acme", "period": "2017-03", "value": "forty"},
        {"kpi": "nope", "rep": "Carol King", "period": "2017-03", "value": ""},
        {"kpi": "csat", "rep": "Alice Smith", "period": "2017-03", "value": "80"},
        {"kpi": "csat", "rep": "Alice Smith", "period": "2017-03", "value": "81"},
    ]
    path = write_csv(tmp_path / "m.csv", rows, MEASUREMENT_COLUMNS)
    assert rejected("import_measurements", path) == [
        "row 2, column kpi: won_revenue is not a manual KPI: its values are computed, not entered",
        "row 3, column territory: unknown territory 'Acme/West' (give the full path from the root)",
        "row 4, column rep: give a territory or a rep, not both",
        "row 5, column territory: a territory (its full path from the root) or a rep is required",
        "row 6, column period: invalid period key '2017-Q5': use a year (2017), a quarter (2017-Q2) or a month (2017-05)",
        "row 7, column value: 'forty' is not a number (use a dot for decimals, no separators)",
        "row 8, column kpi: unknown KPI 'nope' (give the KPI's slug, as on the Definitions page)",
        "row 8, column rep: unknown rep 'Carol King' (import it with import_reps first)",
        "row 8, column value: the value is required",
        "row 10, column period: duplicate measurement of csat for Alice Smith in 2017-03 (first on row 9)",
    ]
    assert not Measurement.objects.filter(org=acme).exists()


def test_a_measurement_in_a_locked_period_is_refused_unless_unchanged(acme, tmp_path):
    ada = UserFactory.create(username="ada", first_name="Ada", last_name="Lovelace")
    path = write_csv(tmp_path / "m.csv", MEASUREMENTS, MEASUREMENT_COLUMNS)
    run("import_measurements", path)
    period_lock(org=acme, period="2017-Q1", user=ada)
    assert run("import_measurements", path) == "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged"
    changed = [MEASUREMENTS[2], {**MEASUREMENTS[1], "value": "40"}, {**MEASUREMENTS[0], "period": "2017-04"}]
    (line,) = rejected("import_measurements", write_csv(tmp_path / "c.csv", changed, MEASUREMENT_COLUMNS))
    assert line.startswith("row 3, column period: 2017-Q1 is locked (by Ada Lovelace on ")
    assert line.endswith("its measurements cannot change. An admin of Acme can unlock it, giving a reason.")
    assert Measurement.objects.filter(org=acme).count() == 3  # the 2017-04 row was rolled back too


TARGETS = [
    {"kpi": "won_revenue", "territory": "Acme", "period": "2017", "goal": "1000000", "reason": "Plan"},
    {"kpi": "won_revenue", "rep": "Alice Smith", "period": "2017-Q1", "goal": "50000", "red_flag": "40000"},
    {"kpi": "win_rate", "territory": "Acme/East", "period": "2017", "goal": "0.35", "red_flag": "0.25"},
]


def current_targets(org) -> set[tuple]:
    return {
        (
            t.kpi.slug,
            t.territory.full_name if t.territory else None,
            t.rep.name if t.rep else None,
            t.period,
            t.goal,
            t.red_flag,
            t.reason,
        )
        for t in Target.objects.filter(org=org, superseded_at__isnull=True).select_related(
            "kpi", "territory", "rep"
        )
    }


def test_targets_are_set_and_a_new_goal_supersedes_the_old_one_which_is_kept(acme, tmp_path):
    path = write_csv(tmp_path / "t.csv", TARGETS, TARGET_COLUMNS)
    assert run("import_targets", path) == "3 row(s) into 'acme': 3 created, 0 updated, 0 unchanged"
    assert current_targets(acme) == {
        ("won_revenue", "Acme", None, "2017", Decimal("1000000"), None, "Plan"),
        ("won_revenue", None, "Alice Smith", "2017-Q1", Decimal("50000"), Decimal("40000"), ""),
        ("win_rate", "Acme/East", None, "2017", Decimal("0.35"), Decimal("0.25"), ""),
    }
    assert run("import_targets", path) == "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged"
    assert Target.objects.filter(org=acme).count() == 3
    raised = [{**TARGETS[0], "goal": "1200000", "reason": "Board raised the plan"}]
    assert run("import_targets", write_csv(tmp_path / "r.csv", raised, TARGET_COLUMNS)) == (
        "1 row(s) into 'acme': 0 created, 1 updated, 0 unchanged"
    )
    history = Target.objects.filter(
        org=acme, kpi__slug="won_revenue", territory__full_name="Acme", period="2017"
    )
    assert sorted((t.goal, t.reason, t.superseded_at is None) for t in history) == [
        (Decimal("1000000"), "Plan", False),
        (Decimal("1200000"), "Board raised the plan", True),
    ]


def test_bad_target_rows_are_each_reported_and_a_locked_period_refuses_a_new_goal(acme, tmp_path):
    rows = [
        {**TARGETS[0], "goal": ""},
        {**TARGETS[0], "goal": "1e6 USD"},
        {**TARGETS[1], "red_flag": "lots"},
        {**TARGETS[2], "kpi": ""},
    ]
    assert rejected("import_targets", write_csv(tmp_path / "t.csv", rows, TARGET_COLUMNS)) == [
        "row 2, column goal: the goal is required",
        "row 3, column goal: '1e6 USD' is not a number (use a dot for decimals, no separators)",
        "row 4, column red_flag: 'lots' is not a number (use a dot for decimals, no separators)",
        "row 5, column kpi: the KPI (its slug) is required",
    ]
    period_lock(org=acme, period="2017", user=None)
    (line,) = rejected("import_targets", write_csv(tmp_path / "ok.csv", TARGETS[:1], TARGET_COLUMNS))
    assert line.startswith("row 2, column period: 2017 is locked (by an admin on ")
    assert "its targets cannot change" in line
    assert not Target.objects.filter(org=acme).exists()


def test_measurement_and_target_exports_re_import_unchanged(acme, tmp_path):
    run("import_measurements", write_csv(tmp_path / "m.csv", MEASUREMENTS, MEASUREMENT_COLUMNS))
    run("import_targets", write_csv(tmp_path / "t.csv", TARGETS, TARGET_COLUMNS))
    assert exported("export_measurements") == [
        "kpi,territory,rep,period,value,note",
        "csat,,Alice Smith,2017-02,87,",
        "nps,Acme,,2017-Q1,38.5,",
        "nps,Acme/East,,2017-Q1,42,Survey of March",
    ]
    assert exported("export_targets") == [
        "kpi,territory,rep,period,goal,red_flag,reason",
        "win_rate,Acme/East,,2017,0.35,0.25,",
        "won_revenue,Acme,,2017,1000000,,Plan",
        "won_revenue,,Alice Smith,2017-Q1,50000,40000,",
    ]
    for kind in ("measurements", "targets"):
        for suffix in ("csv", "xlsx"):
            out = tmp_path / f"{kind}.{suffix}"
            call_command(f"export_{kind}", str(out), "--org", "acme", stdout=io.StringIO())
            assert run(f"import_{kind}", out) == "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged"


def test_measurements_and_targets_need_an_existing_organisation(db, tmp_path):
    path = write_csv(tmp_path / "m.csv", MEASUREMENTS, MEASUREMENT_COLUMNS)
    assert rejected("import_measurements", path, org="newco") == [
        "unknown organisation 'newco': create it first (import_reps creates one)"
    ]


def test_a_dry_run_counts_what_would_change_and_writes_nothing(acme, tmp_path):
    from imports.options import ImportOptions
    from imports.services_inputs import measurements_import, targets_import

    targets = write_csv(tmp_path / "t.csv", TARGETS, TARGET_COLUMNS)
    measurements = write_csv(tmp_path / "m.csv", MEASUREMENTS, MEASUREMENT_COLUMNS)
    for run_import in (targets_import, measurements_import):
        path = targets if run_import is targets_import else measurements
        result = run_import(org_slug="acme", path=path, options=ImportOptions(dry_run=True))
        assert (result.counts.created, result.counts.updated, result.counts.unchanged) == (3, 0, 0)
    assert not Target.objects.filter(org=acme).exists()
    assert not Measurement.objects.filter(org=acme).exists()


def test_a_value_outside_the_kpis_range_is_a_row_error_also_in_a_dry_run(acme, tmp_path):
    """NPS runs from −100 to 100 and CSAT from 0 to 100 (their scales): the check names the row, as
    the grid does, before anything is written — a dry run too."""
    from imports.errors import ImportFailed
    from imports.options import ImportOptions
    from imports.services_inputs import measurements_import

    rows = [
        {"kpi": "nps", "territory": "Acme", "period": "2017-Q1", "value": "-100"},
        {"kpi": "nps", "territory": "Acme/East", "period": "2017-Q1", "value": "140"},
        {"kpi": "csat", "rep": "Alice Smith", "period": "2017-02", "value": "-1"},
    ]
    path = write_csv(tmp_path / "m.csv", rows, MEASUREMENT_COLUMNS)
    expected = [
        "row 3, column value: Net promoter score is between -100 and 100: 140 is outside it.",
        "row 4, column value: Customer satisfaction (CSAT) is between 0 and 100: -1 is outside it.",
    ]
    with pytest.raises(ImportFailed) as refused:
        measurements_import(org_slug="acme", path=path, options=ImportOptions(dry_run=True))
    assert refused.value.lines() == expected
    assert rejected("import_measurements", path) == expected
    assert not Measurement.objects.filter(org=acme).exists()
