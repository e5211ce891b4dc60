"""Generic import and export of products, certifications and programme participations (DESIGN §5).

Same rules as the reps and opportunities imports (``services``): CSV or XLSX, validate the whole
file and report every row error with its row and column, then write everything in one transaction
or nothing; keyed, so re-importing a file changes nothing. A products import creates a missing
organisation (as ``import_reps`` does); certifications and programmes name reps, so their
organisation must exist. Each export writes the columns its import reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from people.models import Certification, ProgramParticipation
from sales.models import Product
from scorecard.models import Organization
from scorecard.services import organization_create

from .errors import ErrorList, fail
from .options import ImportOptions
from .rules import RepNames
from .rules_catalog import CertificationRows, ProductRows, ProgrammeRows, choice_text
from .services import ImportResult, names_create_missing, organization_lookup
from .sync import rollups_mark_stale
from .sync_catalog import certifications_write, products_write, programmes_write
from .writers import write_table

PRODUCT_COLUMNS = ("product", "line", "list_price")
CERTIFICATION_COLUMNS = ("rep", "certification", "category", "issuer", "earned", "expires")
PROGRAMME_COLUMNS = ("rep", "programme", "kind", "start", "end")


def organization_required(slug: str) -> Organization:
    """The organisation an import adds to; an import naming reps or KPIs cannot start one."""
    org = organization_lookup(slug)
    if org is None:
        fail(f"unknown organisation {slug!r}: create it first (import_reps creates one)")
    return org


# --- products ---------------------------------------------------------------------------------------


def products_import(*, org_slug: str, path: str | Path, options: ImportOptions | None = None) -> ImportResult:
    """Products keyed by name, with their line and list price (a description is kept)."""
    options = options or ImportOptions()
    org = organization_lookup(org_slug)
    checked = ProductRows()
    errors = ErrorList()
    rows = 0
    for row in options.rows(path, PRODUCT_COLUMNS):
        rows += 1
        checked.add(row, errors)
    errors.raise_if_any()
    with options.writing():
        created = org is None
        if org is None:
            org = organization_create(name=org_slug, slug=org_slug)
        counts = products_write(org=org, products=checked.products)
        rollups_mark_stale(org=org, counts=[counts])  # lines and list prices feed KPIs
    return ImportResult(org, rows, counts, org_created=created)


def products_export_rows(*, org: Organization) -> Iterator[list[Any]]:
    for product in Product.objects.filter(org=org).order_by("name"):
        yield [product.name, product.line, product.list_price]


def products_export(*, org: Organization, path: str | Path | Any) -> int:
    return write_table(path, PRODUCT_COLUMNS, products_export_rows(org=org))


# --- certifications ---------------------------------------------------------------------------------


def certifications_import(
    *, org_slug: str, path: str | Path, options: ImportOptions | None = None
) -> ImportResult:
    """Certifications keyed on rep + certification + earned; a new certification type is created with
    the row's category and issuer, an existing one takes them."""
    options = options or ImportOptions()
    org = organization_required(org_slug)
    reps = RepNames.for_org(org, unknown=options.unknown, create_missing=options.create_missing)
    checked = CertificationRows(reps)
    errors = ErrorList()
    rows = 0
    for row in options.rows(path, CERTIFICATION_COLUMNS):
        rows += 1
        checked.add(row, errors)
    errors.raise_if_any()
    with options.writing():
        also = names_create_missing(org=org, options=options)
        counts, types = certifications_write(org=org, types=checked.types, records=checked.records)
        rollups_mark_stale(org=org, counts=[counts, types])
    also |= {"certification types created": types.created, "certification types updated": types.updated}
    return ImportResult(org, rows, counts, also=also)


def certifications_export_rows(*, org: Organization) -> Iterator[list[Any]]:
    queryset = (
        Certification.objects.filter(org=org)
        .select_related("rep", "type")
        .order_by("rep__name", "type__name", "earned")
    )
    for c in queryset:
        yield [c.rep.name, c.type.name, choice_text(c.type.category), c.type.issuer, c.earned, c.expires]


def certifications_export(*, org: Organization, path: str | Path | Any) -> int:
    return write_table(path, CERTIFICATION_COLUMNS, certifications_export_rows(org=org))


# --- programmes -------------------------------------------------------------------------------------


def programmes_import(
    *, org_slug: str, path: str | Path, options: ImportOptions | None = None
) -> ImportResult:
    """Programme participations keyed on rep + programme + start; a new programme is created with the
    row's kind, an existing one takes it."""
    options = options or ImportOptions()
    org = organization_required(org_slug)
    reps = RepNames.for_org(org, unknown=options.unknown, create_missing=options.create_missing)
    checked = ProgrammeRows(reps)
    errors = ErrorList()
    rows = 0
    for row in options.rows(path, PROGRAMME_COLUMNS):
        rows += 1
        checked.add(row, errors)
    errors.raise_if_any()
    with options.writing():
        also = names_create_missing(org=org, options=options)
        counts, programmes = programmes_write(org=org, kinds=checked.kinds, records=checked.records)
        rollups_mark_stale(org=org, counts=[counts, programmes])
    also |= {"programmes created": programmes.created, "programmes updated": programmes.updated}
    return ImportResult(org, rows, counts, also=also)


def programmes_export_rows(*, org: Organization) -> Iterator[list[Any]]:
    queryset = (
        ProgramParticipation.objects.filter(org=org)
        .select_related("rep", "program")
        .order_by("rep__name", "program__name", "start")
    )
    for p in queryset:
        yield [p.rep.name, p.program.name, choice_text(p.program.kind), p.start, p.end]


def programmes_export(*, org: Organization, path: str | Path | Any) -> int:
    return write_table(path, PROGRAMME_COLUMNS, programmes_export_rows(org=org))
