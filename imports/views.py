"""The import wizard (``/manage/imports/``) and the exports (``/manage/export/<kind>.<csv|xlsx>``), for
admins. The steps are ``imports.jobs`` services; these views parse, call and render."""

from __future__ import annotations

import tempfile
from itertools import chain
from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from scorecard.decorators import MembershipRequest, admin_required

from . import jobs
from .errors import ImportFailed
from .kinds import KINDS
from .models import ImportJob
from .readers import Limits, size_text, too_large_message
from .writers import CONTENT_TYPES, FORMATS, csv_lines

RECENT_JOBS = 10
MULTIPART_OVERHEAD = 64 * 1024  # form fields and part headers around the file


def _body_too_large(request: HttpRequest, limits: Limits) -> int | None:
    """The request's declared size when it cannot hold a file within the limit (checked before the
    body is read, so a huge upload is refused without being stored)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length > limits.max_bytes + MULTIPART_OVERHEAD else None


def _upload_guard(view):
    """Refuses an oversized upload from its Content-Length, before Django parses the body (the CSRF
    check would parse it first, so it runs after this, through ``csrf_protect``)."""
    protected = csrf_protect(view)

    def guarded(request: MembershipRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limits = Limits.from_settings()
        length = _body_too_large(request, limits) if request.method == "POST" else None
        if length is not None:
            request.upload_refused = too_large_message(length, limits.max_bytes)  # type: ignore[attr-defined]
        return protected(request, *args, **kwargs)

    return csrf_exempt(guarded)


def _context(request: MembershipRequest, **extra: Any) -> dict[str, Any]:
    org = request.membership.org
    return {
        "kinds": KINDS.values(),
        "formats": FORMATS,
        "limit": size_text(Limits.from_settings().max_bytes),
        "recent": ImportJob.objects.filter(org=org)
        .defer("content")
        .select_related("created_by")[:RECENT_JOBS],
        **extra,
    }


@require_http_methods(["GET", "POST"])
@admin_required
@_upload_guard
def wizard(request: MembershipRequest) -> HttpResponse:
    """Step 1: what the file holds and the file; then on to its job page."""
    errors: dict[str, list[str]] = {}
    kind = request.POST.get("kind", "") if request.method == "POST" else request.GET.get("kind", "")
    refused = getattr(request, "upload_refused", None)
    if refused:
        errors["file"] = [refused[0].upper() + refused[1:] + "."]
    elif request.method == "POST":
        upload = request.FILES.get("file")
        if kind not in KINDS:
            errors["kind"] = ["Choose what the file holds."]
        if upload is None:
            errors["file"] = ["Choose a CSV or XLSX file."]
        if not errors and upload is not None:
            try:
                job = jobs.job_create(org=request.membership.org, kind=kind, upload=upload, user=request.user)
            except ImportFailed as failed:
                errors["file"] = [_sentence(line) for line in failed.lines()]
            else:
                return redirect("import_job", pk=job.pk)
    context = _context(request, errors=errors, kind=kind)
    return render(request, "imports/wizard.html", context, status=_status(errors, refused))


@require_http_methods(["GET", "POST"])
@admin_required
@_upload_guard
def job_page(request: MembershipRequest, pk: int) -> HttpResponse:
    """Steps 2 to 5 of one file: map its columns, the check, the import's progress, the summary.

    A POST names its ``action``: ``map``, ``check`` (the choice to create unknown names), ``file``
    (a corrected file) or ``start``. An htmx request gets the progress panel alone (polled every
    second while the import runs).
    """
    # The file (up to the size limit) is read only by the step that needs it, not by every poll.
    jobs_of_org = ImportJob.objects.select_related("org", "created_by").defer("content")
    job = get_object_or_404(jobs_of_org, org=request.membership.org, pk=pk)
    errors: dict[str, list[str]] = {}
    refused = getattr(request, "upload_refused", None)
    if refused:
        errors["file"] = [refused[0].upper() + refused[1:] + "."]
    elif request.method == "POST":
        try:
            _act(request, job)
            return redirect("import_job", pk=job.pk)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        except ImportFailed as failed:
            errors = {"file": [_sentence(line) for line in failed.lines()]}
    if request.htmx and not request.htmx.boosted:
        return render(request, "imports/job.html#progress", {"job": job})
    kind = KINDS[job.kind]
    status = _status(errors, refused)
    form_errors = errors.pop("__all__", [])
    context = _context(
        request,
        job=job,
        kind=kind,
        errors=errors,
        form_errors=form_errors,
        columns=[(c, job.mapping.get(c, ""), errors.get(c, [])) for c in kind.columns],
        now=timezone.now(),
    )
    return render(request, "imports/job.html", context, status=status)


def _act(request: MembershipRequest, job: ImportJob) -> None:
    action = request.POST.get("action", "")
    if action == "map":
        kind = KINDS[job.kind]
        jobs.job_map(
            job=job, mapping={c: request.POST.get(f"map-{c}", "") for c in kind.columns}, user=request.user
        )
    elif action == "check":
        jobs.job_check(job=job, create_missing=request.POST.get("create_missing") == "on")
    elif action == "file":
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "Choose the corrected CSV or XLSX file."})
        jobs.job_replace_file(job=job, upload=upload)
    elif action == "start":
        jobs.job_start(job=job)
    else:
        raise ValidationError("Unknown action.")


@require_http_methods(["GET"])
@admin_required
def export(request: MembershipRequest, kind: str, fmt: str) -> HttpResponse:
    """Every row of a kind in the columns its import reads, as CSV or XLSX (formulas neutralised)."""
    if kind not in KINDS or fmt not in FORMATS:
        raise Http404("No such export.")
    org = request.membership.org
    chosen = KINDS[kind]
    name = f"{org.slug}-{kind}-{timezone.localdate().isoformat()}.{fmt}"
    response: HttpResponseBase
    if fmt == "csv":  # streamed a row at a time: a million deals never sit in memory
        # The byte order mark makes spreadsheets read the file as UTF-8.
        lines = chain(["\ufeff"], csv_lines(chosen.columns, chosen.export_rows(org=org)))
        response = StreamingHttpResponse(lines, content_type=CONTENT_TYPES[fmt])
    else:  # openpyxl's write-only workbook, spooled to a temporary file rather than held in memory
        spool = tempfile.TemporaryFile()  # noqa: SIM115  # FileResponse closes it once sent
        chosen.export(org=org, target=spool, format="xlsx")
        spool.seek(0)
        response = FileResponse(spool, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response  # type: ignore[return-value]  # a streamed response, which the view decorators pass on


def _status(errors: dict[str, list[str]], refused: str | None) -> int:
    if refused:
        return 413
    return 400 if errors else 200


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", ")")) else ".")
