"""Generic CSV/XLSX import and export of reps and opportunities (DESIGN §5).

Every import validates the whole file first, collecting row-level errors (row as the spreadsheet
shows it, header = row 1, and column), and raises ImportFailed without writing anything when there
is one; otherwise it writes everything in one transaction, creating the organisation (with the
default scorecard template) when its slug is new. Re-importing a file changes nothing; a changed
row updates the stored one.

Policy for references in an opportunity row: reps (``rep``, ``identified_by``) and products must
already exist — a misspelt name would otherwise silently split a rep's or a product's numbers.
Accounts, partners, strategic plays and deliverables are created on demand (an account's name is
then its key); existing ones are never renamed by this import. The import wizard may choose to create
the unknown reps and products too (``ImportOptions.create_missing``): a rep then has only its name, a
product only its name and an empty line.

Every import takes ``ImportOptions`` (the wizard's column mapping, that choice, a dry run for the
preview, progress reporting); the commands use the defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from kpis import recompute
from sales.models import Opportunity, Product
from scorecard.models import Organization
from scorecard.services import organization_create
from territories.models import Rep, TerritoryAssignment

from .errors import ErrorList, fail
from .options import ImportOptions
from .rules import OpportunityRules, RepRows
from .sync import (
    Counts,
    OpportunityRecord,
    References,
    names_ensure,
    opportunities_write,
    reps_write,
    rollups_mark_stale,
)
from .writers import write_table

REP_COLUMNS = ("rep", "email", "territory", "start_date", "end_date")
OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "rep",
    "account",
    "products",
    "stage",
    "created_date",
    "engage_date",
    "close_date",
    "amount",
    "profit",
    "channel",
    "partner",
    "strategic_play",
    "poc",
    "deliverables",
    "identified_by",
)


@dataclass
class ImportResult:
    """What an import did: ``counts`` are the file's rows (created, updated, unchanged); ``also``
    counts what was created or changed besides them (certification types, unknown reps, …)."""

    org: Organization
    rows: int
    counts: Counts
    assignments: Counts | None = None
    org_created: bool = False
    also: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.rows} row(s) into {self.org.slug!r}: {self.counts}"
        if self.assignments is not None:
            text += f"; assignments: {self.assignments}"
        for what, count in self.also.items():
            if count:
                text += f"; {count} {what}"
        return text + (" (organisation created)" if self.org_created else "")


def organization_lookup(slug: str) -> Organization | None:
    try:
        validate_slug(slug)
    except ValidationError:
        fail(f"{slug!r} is not a valid organisation slug (letters, digits, - and _)")
    return Organization.objects.filter(slug=slug).first()


# --- reps -------------------------------------------------------------------------------------------


def reps_import(*, org_slug: str, path: str | Path, options: ImportOptions | None = None) -> ImportResult:
    """Reps and their effective-dated assignments: one row per assignment, matched by rep name.

    For each rep named in the file, its rows are its complete assignment history (rows of the file
    are added, changed by start date, and stored assignments the file no longer lists are removed);
    reps the file does not name are left alone. A row with an empty territory lists a rep with no
    assignment. The rep's email is the one its rows give (blank clears it).
    """
    options = options or ImportOptions()
    org = organization_lookup(org_slug)
    root = org.root_territory() if org else None
    checked = RepRows(root_name=root.name if root else None)
    errors = ErrorList()
    rows = 0
    for row in options.rows(path, REP_COLUMNS):
        rows += 1
        checked.add(row, errors)
    errors.raise_if_any()

    with options.writing():
        created = org is None
        if org is None:
            org = organization_create(name=org_slug, slug=org_slug, root_name=checked.root_name or org_slug)
        rep_counts, assignment_counts = reps_write(org=org, reps=checked.reps)
        rollups_mark_stale(org=org, counts=[rep_counts, assignment_counts])
    return ImportResult(org, rows, rep_counts, assignment_counts, created)


def reps_export_rows(*, org: Organization) -> Iterator[list[Any]]:
    assignments = TerritoryAssignment.objects.filter(org=org).select_related("territory")
    by_rep: dict[int, list[TerritoryAssignment]] = {}
    for assignment in assignments.order_by("rep_id", "start"):
        by_rep.setdefault(assignment.rep_id, []).append(assignment)
    for rep in Rep.objects.filter(org=org).order_by("name"):
        rows = by_rep.get(rep.pk)
        if not rows:
            yield [rep.name, rep.email, "", None, None]
        for a in rows or ():
            yield [rep.name, rep.email, a.territory.full_name, a.start, a.end]


def reps_export(*, org: Organization, path: str | Path | Any) -> int:
    """Writes the reps file ``reps_import`` reads (CSV, or XLSX by suffix); returns the row count."""
    return write_table(path, REP_COLUMNS, reps_export_rows(org=org))


# --- opportunities ----------------------------------------------------------------------------------


def opportunities_import(
    *, org_slug: str, path: str | Path, options: ImportOptions | None = None
) -> ImportResult:
    """Opportunities keyed by ``opportunity_id``; a credited territory set by a data set is kept.

    The file is read twice — once to validate it all, once to write it in batches — so memory stays
    bounded by the set of ids and referenced names, not by the rows.
    """
    options = options or ImportOptions()
    org = organization_lookup(org_slug)
    rules = OpportunityRules.for_org(org, unknown=options.unknown, create_missing=options.create_missing)
    errors = ErrorList()
    references = References()
    first_row: dict[str, int] = {}
    rows = 0
    for row in options.rows(path, OPPORTUNITY_COLUMNS):
        rows += 1
        record = rules.clean(row, errors)
        if record is None:
            continue
        seen = first_row.setdefault(record.external_id, row.number)
        if seen != row.number:
            errors.add(
                f"duplicate opportunity_id {record.external_id!r} (first on row {seen})",
                row=row.number,
                column="opportunity_id",
            )
            continue
        references.add(record)
    errors.raise_if_any()

    second_pass = ImportOptions(mapping=options.mapping, limits=options.limits)  # no progress

    def records(again: ErrorList) -> Iterator[OpportunityRecord]:
        for row in second_pass.rows(path, OPPORTUNITY_COLUMNS):
            record = rules.clean(row, again)
            if record is not None:
                yield record

    with options.writing():
        created = org is None
        if org is None:
            org = organization_create(name=org_slug, slug=org_slug)
        also = names_create_missing(org=org, options=options)
        again = ErrorList()
        counts = opportunities_write(org=org, records=records(again), references=references)
        again.raise_if_any()  # the file changed between the two passes: roll back
        rollups_mark_stale(org=org, counts=[counts])
    return ImportResult(org, rows, counts, org_created=created, also=also)


def names_create_missing(*, org: Organization, options: ImportOptions) -> dict[str, int]:
    """Creates the unknown reps and products the rows named, when the wizard's user chose to."""
    if not options.create_missing:
        return {}
    names_ensure(Rep, org=org, names=options.unknown.reps)
    names_ensure(Product, org=org, names=options.unknown.products)
    if options.unknown:  # new reps are new scopes of every period (bulk writes send no model signals)
        recompute.request(org.pk, None)
    also = {"reps created": len(options.unknown.reps), "products created": len(options.unknown.products)}
    return {what: count for what, count in also.items() if count}


def opportunities_export_rows(*, org: Organization) -> Iterator[list[Any]]:
    queryset = (
        Opportunity.objects.filter(org=org)
        .select_related("rep", "account", "partner", "strategic_play", "identified_by")
        .prefetch_related("products", "deliverables")
        .order_by("external_id")
    )
    for o in queryset.iterator(chunk_size=2000):
        yield [
            o.external_id,
            o.rep.name if o.rep else "",
            o.account.external_id if o.account else "",
            ";".join(sorted(p.name for p in o.products.all())),
            o.stage,
            o.created_date,
            o.engage_date,
            o.close_date,
            o.amount,
            o.profit,
            o.channel,
            o.partner.name if o.partner else "",
            o.strategic_play.name if o.strategic_play else "",
            o.poc,
            ";".join(sorted(d.name for d in o.deliverables.all())),
            o.identified_by.name if o.identified_by else "",
        ]


def opportunities_export(*, org: Organization, path: str | Path | Any) -> int:
    """Writes the opportunities file ``opportunities_import`` reads; returns the row count."""
    return write_table(path, OPPORTUNITY_COLUMNS, opportunities_export_rows(org=org))
