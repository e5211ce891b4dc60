"""The import wizard and the export view: admins only, other organisations' jobs are 404; upload → map
→ check (row errors, unknown names) → import as a task (progress on the job) → summary."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from imports import jobs
from imports.kinds import KINDS
from imports.models import KIND_CHOICES, ImportJob, ImportMapping, JobStatus
from kpis.models import Target
from sales.models import Opportunity, Product
from scorecard.services import period_lock
from territories.models import Rep

pytest_plugins = ["tests.conftest_personas"]

WIZARD = reverse("import_wizard")
COLUMNS = list(KINDS["opportunities"].columns)
MB = 1024 * 1024


def deal(i: int, **changes) -> dict:
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        opportunity_id=f"W-{i}",
        rep="Nora Nordin",
        stage="won",
        engage_date="2024-01-10",
        close_date="2024-02-15",
        amount=str(1000 * i),
    )
    row.update(changes)
    return row


def csv_bytes(
    rows: list[dict], columns: list[str] | None = None, rename: dict[str, str] | None = None
) -> bytes:
    columns = columns or COLUMNS
    rename = rename or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([rename.get(c, c) for c in columns])
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue().encode()


def upload(client, data: bytes, kind: str = "opportunities", name: str = "deals.csv"):
    return client.post(WIZARD, {"kind": kind, "file": SimpleUploadedFile(name, data)})


def job_of(response) -> ImportJob:
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def act(client, job: ImportJob, action: str, **data):
    return client.post(reverse("import_job", kwargs={"pk": job.pk}), {"action": action, **data})


def mapping_form(job: ImportJob) -> dict[str, str]:
    return {f"map-{c}": h for c, h in job.mapping.items()}


def test_kind_choices_match_the_kinds():
    assert [slug for slug, _ in KIND_CHOICES] == list(KINDS)
    assert dict(KIND_CHOICES) == {slug: kind.label for slug, kind in KINDS.items()}


# --- who may use it ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_import_and_export(world, login, persona):
    client = login(persona)
    job = ImportJob.objects.create(org=world.org, kind="reps", file_name="r.csv")
    assert client.get(WIZARD).status_code == 403
    assert upload(client, csv_bytes([deal(1)])).status_code == 403
    assert client.get(reverse("import_job", kwargs={"pk": job.pk})).status_code == 403
    assert client.get(reverse("export", kwargs={"kind": "reps", "fmt": "csv"})).status_code == 403
    assert not ImportJob.objects.exclude(pk=job.pk).exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    for url in (WIZARD, reverse("export", kwargs={"kind": "reps", "fmt": "csv"})):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_another_organisations_job_is_404(world, login):
    theirs = ImportJob.objects.create(
        org=world.other_org, kind="reps", file_name="theirs.csv", content=b"rep\nX\n"
    )
    client = login("admin")
    url = reverse("import_job", kwargs={"pk": theirs.pk})
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "check"}).status_code == 404
    assert "theirs.csv" not in client.get(WIZARD).content.decode()


def test_the_manage_page_links_to_the_wizard(login):
    assert f'href="{WIZARD}"' in login("admin").get(reverse("manage")).content.decode()


# --- the steps --------------------------------------------------------------------------------------


def test_one_bad_row_is_shown_then_a_corrected_file_imports_with_its_summary(
    world, login, django_capture_on_commit_callbacks
):
    client = login("admin")
    bad = csv_bytes([deal(1), deal(2, amount="-50"), deal(3)])
    job = job_of(upload(client, bad))
    assert job.status == JobStatus.UPLOADED
    assert job.mapping == {c: c for c in COLUMNS}  # same names: suggested as they are

    page = client.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert 'aria-current="step">Map columns' in page
    act(client, job, "map", **mapping_form(job))
    job.refresh_from_db()
    assert (job.status, job.error_total) == (JobStatus.CHECKED, 1)
    assert job.errors == [{"row": 3, "column": "amount", "message": "the amount must not be negative (-50)"}]
    page = client.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "1 problem to fix; nothing will be imported until they are" in page
    assert "the amount must not be negative (-50)" in page
    assert act(client, job, "start").status_code == 400  # refused while a row has an error
    assert not Opportunity.objects.filter(org=world.org, external_id__startswith="W-").exists()

    fixed = SimpleUploadedFile("deals-fixed.csv", csv_bytes([deal(1), deal(2), deal(3)]))
    act(client, job, "file", file=fixed)
    job.refresh_from_db()
    assert (job.status, job.error_total, job.file_name) == (JobStatus.CHECKED, 0, "deals-fixed.csv")
    assert job.counts == {"created": 3, "updated": 0, "unchanged": 0}
    assert not Opportunity.objects.filter(org=world.org, external_id__startswith="W-").exists()  # a dry run

    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, job, "start")
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.progress, job.rows_done, job.rows_total) == (JobStatus.DONE, 100, 3, 3)
    assert job.counts == {"created": 3, "updated": 0, "unchanged": 0}
    assert job.content == b""  # the file is not kept once imported
    stored = Opportunity.objects.filter(org=world.org, external_id__startswith="W-")
    assert sorted((o.external_id, o.amount, o.rep.name) for o in stored) == [
        ("W-1", Decimal("1000"), "Nora Nordin"),
        ("W-2", Decimal("2000"), "Nora Nordin"),
        ("W-3", Decimal("3000"), "Nora Nordin"),
    ]
    page = client.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert 'value="100"' in page and 'data-testid="count-created">3<' in page
    assert "hx-trigger" not in page  # nothing left to poll


def test_a_second_run_of_the_same_file_changes_nothing(world, login, django_capture_on_commit_callbacks):
    client = login("admin")
    data = csv_bytes([deal(1), deal(2)])
    for expected in (
        {"created": 2, "updated": 0, "unchanged": 0},
        {"created": 0, "updated": 0, "unchanged": 2},
    ):
        job = job_of(upload(client, data))
        act(client, job, "map", **mapping_form(job))
        with django_capture_on_commit_callbacks(execute=True):
            act(client, job, "start")
        job.refresh_from_db()
        assert job.counts == expected


def test_the_column_mapping_is_remembered_for_the_organisations_next_file(world, login):
    client = login("admin")
    rename = {"opportunity_id": "Deal ID", "rep": "Owner", "amount": "Value (USD)", "close_date": "Closed"}
    columns = ["opportunity_id", "rep", "stage", "close_date", "amount", "engage_date"]
    data = csv_bytes([deal(1)], columns=columns, rename=rename)
    job = job_of(upload(client, data))
    assert job.mapping["opportunity_id"] == ""  # no column is named like it
    chosen = {c: rename.get(c, c) if c in columns else "" for c in COLUMNS}
    act(client, job, "map", **{f"map-{c}": h for c, h in chosen.items()})
    job.refresh_from_db()
    assert (job.status, job.error_total, job.counts["created"]) == (JobStatus.CHECKED, 0, 1)
    assert ImportMapping.objects.get(org=world.org, kind="opportunities").mapping == chosen

    second = job_of(upload(client, data, name="next-month.csv"))
    assert second.mapping == chosen
    other_org_job = jobs.mapping_suggest(
        org=world.other_org, kind=KINDS["opportunities"], headers=second.headers
    )
    assert other_org_job["opportunity_id"] == ""  # remembered per organisation


def test_a_mapping_naming_one_file_column_twice_is_refused_beside_the_field(world, login):
    client = login("admin")
    job = job_of(upload(client, csv_bytes([deal(1)])))
    form = {**mapping_form(job), "map-identified_by": "rep"}
    response = act(client, job, "map", **form)
    assert response.status_code == 400
    assert "&#x27;rep&#x27; is already read as rep." in response.content.decode()


def test_unknown_reps_and_products_are_created_only_when_the_admin_chooses_to(
    world, login, django_capture_on_commit_callbacks
):
    client = login("admin")
    rows = [deal(1, rep="Carol King", products="Sprocket"), deal(2, identified_by="Carol King")]
    job = job_of(upload(client, csv_bytes(rows)))
    act(client, job, "map", **mapping_form(job))
    job.refresh_from_db()
    assert job.unknown == {"reps": ["Carol King"], "products": ["Sprocket"]}
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (2, "rep"),
        (2, "products"),
        (3, "identified_by"),
    ]
    page = client.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "Create 1 rep and 1 product with these names" in page

    act(client, job, "check", create_missing="on")
    job.refresh_from_db()
    assert (job.error_total, job.counts["created"]) == (0, 2)
    assert job.also == {"reps created": 1, "products created": 1}
    assert not Rep.objects.filter(org=world.org, name="Carol King").exists()  # still a dry run
    with django_capture_on_commit_callbacks(execute=True):
        act(client, job, "start")
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    carol = Rep.objects.get(org=world.org, name="Carol King")
    assert Opportunity.objects.get(org=world.org, external_id="W-2").identified_by == carol
    assert Product.objects.get(org=world.org, name="Sprocket").line == ""

    act(client, job, "check")  # a finished job cannot be checked again
    assert ImportJob.objects.get(pk=job.pk).status == JobStatus.DONE


def test_a_locked_period_is_reported_by_the_check(world, login):
    period_lock(org=world.org, period="2024-Q1", user=world.users["admin"])
    client = login("admin")
    columns = list(KINDS["targets"].columns)
    row = {"kpi": "won_revenue", "territory": "Acme/Nordics", "period": "2024-02", "goal": "5000"}
    job = job_of(upload(client, csv_bytes([row], columns), kind="targets", name="targets.csv"))
    act(client, job, "map", **mapping_form(job))
    job.refresh_from_db()
    ((error),) = job.errors
    assert (error["row"], error["column"]) == (2, "period")
    assert error["message"].startswith("2024-Q1 is locked (by Ada Admin on ")
    assert not Target.objects.filter(org=world.org).exists()


# --- files refused at the upload ----------------------------------------------------------------------


def test_a_10_mb_file_is_refused_at_the_upload(world, login):
    client = login("admin")
    data = csv_bytes([deal(1)])
    response = upload(client, data + b" " * (10 * MB + 1 - len(data)))
    assert response.status_code == 400
    assert "The file is 10 MB, larger than the 10 MB an import accepts: split it into smaller files." in (
        response.content.decode()
    )
    assert not ImportJob.objects.exists()


def test_a_much_larger_upload_is_refused_from_its_length_before_it_is_read(world, login):
    client = login("admin")
    response = upload(client, b"x" * (11 * MB))
    assert response.status_code == 413
    assert "The file is 11 MB, larger than the 10 MB an import accepts" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_that_is_not_a_spreadsheet_is_refused_at_the_upload(world, login):
    client = login("admin")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    response = upload(client, png, name="photo.xlsx")
    assert response.status_code == 400
    assert "The file is named .xlsx but is not an Excel workbook" in response.content.decode()
    response = upload(client, png, name="photo.csv")
    assert (
        "The file contains NUL bytes: it is binary or UTF-16, not a UTF-8 CSV file."
        in response.content.decode()
    )
    assert not ImportJob.objects.exists()


# --- progress -----------------------------------------------------------------------------------------


def test_the_task_reports_rows_read_outside_the_import_transaction(world, login, monkeypatch):
    client = login("admin")
    job = job_of(upload(client, csv_bytes([deal(i) for i in range(1, 6)])))
    act(client, job, "map", **mapping_form(job))
    job.refresh_from_db()
    jobs.job_start(job=job)  # queued; the commit hook that sends the task does not run in this test
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0)
    seen: list[tuple[int, ...]] = []
    real = jobs._reporter

    def spying(job):
        report = real(job)

        def spy(rows: int) -> None:
            report(rows)
            seen.append(tuple(ImportJob.objects.filter(pk=job.pk).values_list("rows_done", "progress").get()))

        return spy

    monkeypatch.setattr(jobs, "_reporter", spying)
    jobs.job_run(job.pk)
    # Rows 1-5 of the checking pass: 90 % of the bar shared by the 5 rows; the write is the rest.
    assert seen == [(1, 18), (2, 36), (3, 54), (4, 72), (5, 90)]
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.DONE, 100)
    jobs.job_run(job.pk)  # a redelivered message does nothing
    assert Opportunity.objects.filter(org=world.org, external_id__startswith="W-").count() == 5


def test_htmx_polls_the_progress_panel_until_the_job_is_done(world, login, django_assert_max_num_queries):
    client = login("admin")
    job = ImportJob.objects.create(
        org=world.org,
        kind="reps",
        file_name="r.csv",
        status=JobStatus.RUNNING,
        progress=36,
        rows_done=2,
        rows_total=5,
    )
    url = reverse("import_job", kwargs={"pk": job.pk})
    client.get(url, headers={"HX-Request": "true"})
    with django_assert_max_num_queries(4):  # session, user, membership, the job (without its file)
        panel = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert panel.lstrip().startswith('<section id="import-progress"')
    assert 'hx-trigger="every 1s"' in panel and 'value="36"' in panel and "Checked 2 of 5 rows" in panel
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, progress=100, counts={"created": 5})
    panel = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in panel and 'value="100"' in panel and 'data-testid="count-created">5<' in panel


# --- exports ------------------------------------------------------------------------------------------


def test_every_kind_exports_as_csv_and_xlsx_from_the_page(world, login):
    Rep.objects.create(org=world.org, name="=HYPERLINK(1)")
    client = login("admin")
    page = client.get(WIZARD).content.decode()
    for slug in KINDS:
        for fmt in ("csv", "xlsx"):
            url = reverse("export", kwargs={"kind": slug, "fmt": fmt})
            assert f'href="{url}"' in page
            response = client.get(url)
            assert response.status_code == 200
            assert f'filename="acme-test-{slug}-' in response["Content-Disposition"]
    streamed = client.get(reverse("export", kwargs={"kind": "reps", "fmt": "csv"}))
    assert streamed.streaming  # a row at a time, never the whole file in memory
    csv_text = b"".join(streamed.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    assert rows[0] == list(KINDS["reps"].columns)
    assert sorted(r[0] for r in rows[1:]) == [
        "'=HYPERLINK(1)",
        "Nora Nordin",
        "Sergio Sanz",
    ]  # no other org's rep
    xlsx = b"".join(client.get(reverse("export", kwargs={"kind": "reps", "fmt": "xlsx"})).streaming_content)
    cells = [row[0] for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows(min_row=2)]
    assert sorted((c.value, c.data_type) for c in cells) == [
        ("'=HYPERLINK(1)", "s"),
        ("Nora Nordin", "s"),
        ("Sergio Sanz", "s"),
    ]


def test_an_unknown_export_is_404(login):
    client = login("admin")
    assert client.get("/manage/export/secrets.csv").status_code == 404
    assert client.get("/manage/export/reps.pdf").status_code == 404


def test_an_xlsx_file_goes_through_the_same_steps(world, login, tmp_path, django_capture_on_commit_callbacks):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Product", "Brand", "Price"])
    book.active.append(["Widget", "Tools", 120.5])
    book.active.append(["Gadget", "Gizmos", None])
    book.save(tmp_path / "catalog.xlsx")
    client = login("admin")
    job = job_of(
        upload(client, (tmp_path / "catalog.xlsx").read_bytes(), kind="products", name="catalog.xlsx")
    )
    assert job.headers == ["Product", "Brand", "Price"]
    assert job.mapping == {"product": "Product", "line": "", "list_price": ""}
    act(client, job, "map", **{"map-product": "Product", "map-line": "Brand", "map-list_price": "Price"})
    with django_capture_on_commit_callbacks(execute=True):
        act(client, job, "start")
    job.refresh_from_db()
    assert (job.status, job.counts) == (JobStatus.DONE, {"created": 2, "updated": 0, "unchanged": 0})
    stored = {p.name: (p.line, p.list_price) for p in Product.objects.filter(org=world.org)}
    assert stored == {"Widget": ("Tools", Decimal("120.50")), "Gadget": ("Gizmos", None)}


XSS = "<script>alert(1)</script>"


def test_names_from_the_file_are_shown_escaped(world, login):
    client = login("admin")
    columns = ["<img src=x onerror=alert(1)>", *COLUMNS]
    row = deal(1, rep=XSS, products=XSS, account=XSS, amount=XSS)
    job = job_of(upload(client, csv_bytes([row], columns=columns), name=f"{XSS}.csv"))
    act(client, job, "map", **mapping_form(job))
    page = client.get(reverse("import_job", kwargs={"pk": job.pk})).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the unknown rep, the sample rows, the errors
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the file's column, offered in the mapping
    for url in (reverse("import_job", kwargs={"pk": job.pk}), WIZARD):
        page = client.get(url).content.decode()
        assert "<script>" not in page and "<img src=x" not in page


def test_a_corrected_file_without_a_mapped_column_goes_back_to_the_mapping(world, login):
    client = login("admin")
    job = job_of(upload(client, csv_bytes([deal(1, amount="-1")])))
    act(client, job, "map", **mapping_form(job))
    renamed = csv_bytes([deal(1)], rename={"amount": "Value"})
    act(client, job, "file", file=SimpleUploadedFile("renamed.csv", renamed))
    job.refresh_from_db()
    assert job.status == JobStatus.UPLOADED
    assert (job.mapping["amount"], job.mapping["rep"]) == ("", "rep")
    assert "Value" in job.headers


def test_an_upload_left_unimported_loses_its_file_after_the_keeping_time(world, login, settings):
    """Uploads are kept 7 days (SCORECARD_IMPORT_KEEP_DAYS); a daily beat task drops the file of older
    ones not imported, keeping the job; the wizard then asks for the file again, and a new upload works."""
    from datetime import timedelta

    from django.utils import timezone

    from imports.jobs import jobs_expire
    from scorecard.celery import app

    client = login("admin")
    old = job_of(upload(client, csv_bytes([deal(1)])))
    act(client, old, "map", **mapping_form(old))
    fresh = job_of(upload(client, csv_bytes([deal(2)])))
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))

    assert jobs_expire() == 1
    assert jobs_expire() == 0  # nothing left to drop
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.content, old.status, old.file_name) == (b"", JobStatus.CHECKED, "deals.csv")
    assert fresh.content != b""
    response = act(client, old, "start")
    assert response.status_code == 400
    assert "no longer kept (uploads are kept 7 days): upload it again" in response.content.decode()

    act(client, old, "file", file=SimpleUploadedFile("deals.csv", csv_bytes([deal(1)])))
    old.refresh_from_db()
    assert (old.status, old.error_total, old.counts["created"]) == (JobStatus.CHECKED, 0, 1)
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "imports.tasks.import_jobs_expire" in schedule and "imports.tasks.import_jobs_expire" in app.tasks
