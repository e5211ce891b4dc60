"""End to end: an admin imports a CSV of opportunities with one bad row through the wizard, sees the row
error, uploads the corrected file and watches the progress bar finish on the summary; htmx polls the
progress of a running import until it is done; axe finds no serious or critical violation."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe

from imports.kinds import KINDS
from imports.models import ImportJob, JobStatus
from sales.models import Opportunity
from tests.conftest_personas import PASSWORD

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

COLUMNS = list(KINDS["opportunities"].columns)


def _csv(amounts: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i, amount in enumerate(amounts, start=1):
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            opportunity_id=f"B-{i}",
            rep="Nora Nordin",
            stage="won",
            engage_date="2024-01-05",
            close_date="2024-02-20",
            amount=amount,
        )
        writer.writerow([row[c] for c in COLUMNS])
    return out.getvalue().encode()


def _sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def _serious(page) -> list[tuple[str, str, list[str]]]:
    """Serious and critical axe violations, with the start of each offending element."""
    violations = Axe().run(page).response["violations"]
    return [
        (v["id"], v["impact"], [n["html"][:200] for n in v["nodes"]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_an_admin_fixes_a_bad_row_and_sees_the_progress_bar_finish(
    transactional_db, world, live_server, page
):
    _sign_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/manage/")
    page.get_by_role("link", name="Import and export data").click()
    page.wait_for_url(re.compile(r"/manage/imports/$"))
    assert _serious(page) == []

    page.get_by_label("What the file holds").select_option("opportunities")
    page.get_by_label(re.compile(r"^CSV or XLSX file")).set_input_files(
        {"name": "deals.csv", "mimeType": "text/csv", "buffer": _csv(["1200", "-75", "900"])}
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/manage/imports/\d+/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "deals.csv"
    assert page.get_by_label("amount").input_value() == "amount"  # the file's column, suggested by name
    assert _serious(page) == []

    page.get_by_role("button", name="Check the file").click()
    problems = page.get_by_role("table", name="1 problem to fix; nothing will be imported until they are")
    problems.wait_for()
    assert problems.get_by_role("row").nth(1).inner_text().split("\t") == [
        "3",
        "amount",
        "the amount must not be negative (-75)",
    ]
    assert page.get_by_role("button", name=re.compile(r"^Import")).count() == 0
    assert _serious(page) == []

    page.get_by_label("Corrected file").set_input_files(
        {"name": "deals-fixed.csv", "mimeType": "text/csv", "buffer": _csv(["1200", "75", "900"])}
    )
    page.get_by_role("button", name="Upload and check again").click()
    page.get_by_text("3 to create, 0 to update, 0 unchanged.").wait_for()
    assert not Opportunity.objects.filter(org=world.org, external_id__startswith="B-").exists()

    page.get_by_role("button", name="Import 3 rows").click()
    bar = page.locator("#import-progress-bar")
    page.wait_for_selector('#import-progress-bar[value="100"][data-status="done"]', timeout=15_000)
    assert bar.get_attribute("value") == "100"
    summary = page.get_by_test_id("import-summary")
    assert summary.get_by_test_id("count-created").inner_text() == "3"
    assert summary.get_by_test_id("count-updated").inner_text() == "0"
    assert page.get_by_role("heading", name="Imported").is_visible()
    assert _serious(page) == []
    stored = Opportunity.objects.filter(org=world.org, external_id__startswith="B-").order_by("external_id")
    assert [o.amount for o in stored] == [Decimal("1200"), Decimal("75"), Decimal("900")]


def test_the_progress_bar_follows_a_running_import_until_it_is_done(
    transactional_db, world, live_server, page
):
    job = ImportJob.objects.create(
        org=world.org,
        kind="reps",
        file_name="reps.csv",
        status=JobStatus.RUNNING,
        progress=40,
        rows_done=400,
        rows_total=900,
        created_by=world.users["admin"],
    )
    _sign_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/manage/imports/{job.pk}/")
    assert page.locator("#import-progress-bar").get_attribute("value") == "40"
    assert page.get_by_text("Checked 400 of 900 rows").is_visible()
    ImportJob.objects.filter(pk=job.pk).update(progress=72, rows_done=720)
    page.wait_for_selector('#import-progress-bar[value="72"]', timeout=5_000)
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE,
        progress=100,
        rows_done=900,
        counts={"created": 12, "updated": 3, "unchanged": 885},
    )
    page.wait_for_selector('#import-progress-bar[value="100"]', timeout=5_000)
    assert page.get_by_test_id("count-unchanged").inner_text() == "885"
    assert _serious(page) == []
