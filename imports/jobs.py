"""The import wizard's steps, as services: upload → map columns → check (a dry run) → import (a Celery
task reporting progress on the job) → summary.

Each step validates the whole file through the same import as the commands (``imports.kinds``), so
the wizard and the command line accept and refuse exactly the same rows.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from scorecard.celery import app
from scorecard.models import Organization

from .errors import ImportFailed, fail
from .kinds import KINDS, Kind
from .models import ImportJob, ImportMapping, JobStatus
from .options import ImportOptions
from .readers import Limits, as_text, read_header, read_table, too_large_message

log = logging.getLogger(__name__)

RUN_TASK = "imports.tasks.import_job_run"  # sent by name: the task module imports this one
ERRORS_KEPT = 200
SAMPLE_ROWS = 5
PROGRESS_CHECKING = 90  # percent of the bar for reading and checking rows; the rest is the write
PROGRESS_EVERY = 0.5  # seconds between progress writes


@contextmanager
def _file(job: ImportJob) -> Iterator[Path]:
    """The job's file on disk for the readers (named like the upload, so .xlsx reads as XLSX)."""
    suffix = Path(job.file_name).suffix.lower()[:10]
    with tempfile.TemporaryDirectory(prefix="scorecard-import-") as directory:
        path = Path(directory) / f"upload{suffix}"
        path.write_bytes(bytes(job.content))
        yield path


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def mapping_suggest(*, org: Organization, kind: Kind, headers: list[str]) -> dict[str, str]:
    """For each column of the import, the file's column to read it from: the one this organisation
    mapped it to last time if the file has it, else one with the same name (ignoring case, spaces and
    punctuation), else none. (A column left out last time is offered again when the file has it.)"""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(_key(header), header)
    remembered = (
        ImportMapping.objects.filter(org=org, kind=kind.slug).values_list("mapping", flat=True).first()
    )
    suggested = {}
    for column in kind.columns:
        previous = (remembered or {}).get(column) or ""
        suggested[column] = by_key.get(_key(previous)) or by_key.get(_key(column), "")
    return suggested


def _read_upload(upload: UploadedFile, limits: Limits) -> bytes:
    if upload.size is not None and upload.size > limits.max_bytes:
        fail(too_large_message(upload.size, limits.max_bytes))
    content = upload.read(limits.max_bytes + 1)
    if len(content) > limits.max_bytes:
        fail(too_large_message(len(content), limits.max_bytes))
    return content


def _headers(job: ImportJob, limits: Limits) -> list[str]:
    with _file(job) as path:
        return read_header(path, limits=limits)


def job_create(*, org: Organization, kind: str, upload: UploadedFile, user: Any = None) -> ImportJob:
    """Step 1: a new job for an uploaded file, its columns read and a mapping suggested.

    A file that is too large or not a readable CSV/XLSX raises ImportFailed; nothing is stored.
    """
    if kind not in KINDS:
        raise ValidationError({"kind": "Choose what the file holds."})
    limits = Limits.from_settings()
    content = _read_upload(upload, limits)
    job = ImportJob(org=org, kind=kind, file_name=Path(upload.name or "upload").name[:255], created_by=user)
    job.content, job.file_size = content, len(content)
    job.headers = _headers(job, limits)
    job.mapping = mapping_suggest(org=org, kind=KINDS[kind], headers=job.headers)
    job.save()
    return job


def job_replace_file(*, job: ImportJob, upload: UploadedFile) -> ImportJob:
    """A corrected file for the same job: checked at once when it has every column the mapping
    names, else back to the mapping step."""
    _refuse_unless(job, JobStatus.UPLOADED, JobStatus.CHECKED, JobStatus.FAILED)
    limits = Limits.from_settings()
    job.content = _read_upload(upload, limits)
    job.file_size = len(job.content)
    job.file_name = Path(upload.name or "upload").name[:255]
    job.headers = _headers(job, limits)
    present = {h.lower() for h in job.headers}
    if job.mapping and all(not v or v.lower() in present for v in job.mapping.values()):
        return job_check(job=job)
    job.mapping = mapping_suggest(org=job.org, kind=KINDS[job.kind], headers=job.headers)
    _reset(job, JobStatus.UPLOADED)
    job.save()
    return job


def job_map(*, job: ImportJob, mapping: Mapping[str, str], user: Any = None) -> ImportJob:
    """Step 2: the file's column for each import column (blank: not in the file), remembered for the
    organisation's next file of this kind; then the check."""
    _refuse_unless(job, JobStatus.UPLOADED, JobStatus.CHECKED, JobStatus.FAILED)
    _refuse_without_file(job)
    kind = KINDS[job.kind]
    chosen = {column: (mapping.get(column) or "").strip() for column in kind.columns}
    problems: dict[str, str] = {}
    used: dict[str, str] = {}
    for column, header in chosen.items():
        if not header:
            continue
        if header not in job.headers:
            problems[column] = f"The file has no column {header!r}."
        elif header in used:
            problems[column] = f"{header!r} is already read as {used[header]}."
        else:
            used[header] = column
    if not used:
        problems["__all__"] = "Choose the file's column for at least one of the import's columns."
    if problems:
        job.mapping = chosen
        raise ValidationError(problems)
    job.mapping = chosen
    ImportMapping.objects.update_or_create(
        org=job.org, kind=job.kind, defaults={"mapping": chosen, "updated_by": user}
    )
    return job_check(job=job)


def job_check(*, job: ImportJob, create_missing: bool | None = None) -> ImportJob:
    """Step 3: a dry run of the whole import (validated and written, then rolled back) — its row
    errors, the unknown reps and products it names, and what it would create, update or leave."""
    _refuse_unless(job, JobStatus.UPLOADED, JobStatus.CHECKED, JobStatus.FAILED)
    _refuse_without_file(job)
    if create_missing is not None:
        job.create_missing = create_missing
    _reset(job, JobStatus.CHECKED)
    kind = KINDS[job.kind]
    options = ImportOptions(
        mapping=job.mapping, create_missing=job.create_missing, dry_run=True, user=job.created_by
    )
    with _file(job) as path:
        job.sample = _sample(path, kind, options)
        _run(job, kind, path, options)
    job.unknown = options.unknown.as_dict()
    job.save()
    return job


def job_start(*, job: ImportJob) -> ImportJob:
    """Step 4: queue the import of a checked file without errors; a Celery task runs it."""
    _refuse_unless(job, JobStatus.CHECKED)
    _refuse_without_file(job)
    if job.error_total:
        raise ValidationError("Fix the errors first: upload a corrected file.")
    job.status, job.progress, job.rows_done = JobStatus.QUEUED, 0, 0
    job.save(update_fields=["status", "progress", "rows_done"])
    pk = job.pk
    transaction.on_commit(lambda: app.tasks[RUN_TASK].delay(pk))
    return job


def job_run(job_id: int) -> None:
    """The task's work: import the job's file for real, reporting progress on the job row.

    A redelivered message finds the job done and does nothing; an interrupted run left nothing
    behind (one transaction), so running it again is safe.
    """
    job = ImportJob.objects.select_related("org", "created_by").filter(pk=job_id).first()
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return
    job.status, job.started_at = JobStatus.RUNNING, timezone.now()
    job.save(update_fields=["status", "started_at"])
    kind = KINDS[job.kind]
    options = ImportOptions(
        mapping=job.mapping,
        create_missing=job.create_missing,
        user=job.created_by,
        progress=_reporter(job),
    )
    try:
        with _file(job) as path:
            _run(job, kind, path, options)
    except Exception:
        log.exception("import job %s failed", job.pk)
        job.errors = [
            {"row": None, "column": None, "message": "The import stopped unexpectedly; nothing was imported."}
        ]
        job.error_total = 1
        job.status = JobStatus.FAILED
    if job.status != JobStatus.FAILED:
        job.status, job.progress, job.content = JobStatus.DONE, 100, b""
        job.rows_done = job.rows_total or 0
    job.finished_at = timezone.now()
    job.save()


def _run(job: ImportJob, kind: Kind, path: Path, options: ImportOptions) -> None:
    """Runs the import, keeping its outcome on the job (status FAILED when it refused the file)."""
    try:
        result = kind.run(org_slug=job.org.slug, path=path, options=options)
    except ImportFailed as failed:
        job.errors = [
            {"row": e.row, "column": e.column, "message": e.message} for e in failed.errors[:ERRORS_KEPT]
        ]
        job.error_total, job.counts, job.also = failed.total, {}, {}
        if not options.dry_run:
            job.status = JobStatus.FAILED
        return
    except ValidationError as exc:  # a service's refusal that the import could not foresee
        job.errors = [{"row": None, "column": None, "message": m} for m in exc.messages]
        job.error_total, job.counts, job.also = len(exc.messages), {}, {}
        if not options.dry_run:
            job.status = JobStatus.FAILED
        return
    job.rows_total = result.rows
    counts = result.counts
    job.counts = {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged}
    if counts.deleted:
        job.counts["deleted"] = counts.deleted
    job.also = {what: n for what, n in result.also.items() if n}
    if result.assignments is not None and result.assignments.changed:
        a = result.assignments
        job.also |= {
            what: n
            for what, n in {
                "assignments created": a.created,
                "assignments updated": a.updated,
                "assignments deleted": a.deleted,
            }.items()
            if n
        }
    job.errors, job.error_total = [], 0


def _sample(path: Path, kind: Kind, options: ImportOptions) -> list[list[str]]:
    """The first rows as the import will read them (empty when the file cannot be read)."""
    rows: list[list[str]] = []
    try:
        for row in read_table(path, columns=kind.columns, mapping=options.mapping, limits=options.limits):
            rows.append([as_text(row.values.get(c)) for c in kind.columns])
            if len(rows) >= SAMPLE_ROWS:
                break
    except ImportFailed:
        return []
    return rows


def _reporter(job: ImportJob) -> Callable[[int], None]:
    """Writes rows read so far to the job row, at most every PROGRESS_EVERY seconds, and only outside
    the import's transaction (a write inside it would not be seen before the commit)."""
    total = job.rows_total or 0
    last = [0.0]
    depth = len(connection.atomic_blocks)  # the caller's transactions (a test's), not the import's

    def report(rows: int) -> None:
        now = time.monotonic()
        if len(connection.atomic_blocks) > depth or (now - last[0] < PROGRESS_EVERY and rows != total):
            return
        last[0] = now
        percent = min(PROGRESS_CHECKING, rows * PROGRESS_CHECKING // total) if total else 0
        ImportJob.objects.filter(pk=job.pk).update(rows_done=rows, progress=percent)

    return report


def _reset(job: ImportJob, status: str) -> None:
    job.status, job.progress, job.rows_done = status, 0, 0
    job.counts, job.also, job.errors, job.error_total = {}, {}, [], 0


def _refuse_unless(job: ImportJob, *statuses: str) -> None:
    if job.status not in statuses:
        raise ValidationError(
            f"This import is {job.get_status_display().lower()}; start a new one to change it."
        )


def _refuse_without_file(job: ImportJob) -> None:
    if job.file_size and not job.content:
        raise ValidationError(EXPIRED_MESSAGE.format(days=settings.SCORECARD_IMPORT_KEEP_DAYS))


EXPIRED_MESSAGE = "The file of this import is no longer kept (uploads are kept {days} days): upload it again."


def jobs_expire(now: datetime | None = None) -> int:
    """Drop the file of every import not imported within ``SCORECARD_IMPORT_KEEP_DAYS`` of its upload
    (columns to map, checked, failed: up to 10 MB each); the job itself, with who uploaded what and its
    errors, stays. An imported job's file is dropped when it finishes. Returns how many were dropped."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SCORECARD_IMPORT_KEEP_DAYS)
    return (
        ImportJob.objects.filter(
            created_at__lt=cutoff, status__in=[JobStatus.UPLOADED, JobStatus.CHECKED, JobStatus.FAILED]
        )
        .exclude(content=b"")
        .update(content=b"")
    )
