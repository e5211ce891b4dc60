"""Generic CSV/XLSX import and export of reps and opportunities (DESIGN §5).

Every import validates the whole file first, collecting row-level errors (row as the spreadsheet
shows it, header = row 1, and column), and raises ImportFailed without writing anything when there
is one; otherwise it writes everything in one transaction, creating the organisation (with the
default scorecard template) when its slug is new. Re-importing a file changes nothing; a changed
row updates the stored one.

Policy for references in an opportunity row: reps (``rep``, ``identified_by``) and products must
already exist — a misspelt name would otherwise silently split a rep's or a product's numbers.
Accounts, partners, strategic plays and deliverables are created on demand (an account's name is
then its key); existing ones are never renamed by this import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction

from sales.models import CLOSED_STAGES, OPEN_STAGES, Channel, Opportunity, Poc, Product, Stage
from scorecard.models import Organization
from scorecard.services import organization_create
from territories.models import Rep, TerritoryAssignment
from territories.services import split_path

from .errors import ErrorList, fail
from .readers import Row, parse_date, parse_decimal, read_table, split_list, write_table
from .sync import (
    AssignmentRecord,
    Counts,
    OpportunityRecord,
    References,
    RepRecord,
    opportunities_write,
    reps_write,
    rollups_mark_stale,
)

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
STAGE_ORDER = [s.value for s in Stage if s.value in OPEN_STAGES]
CHANNELS = frozenset(Channel.values)
POCS = frozenset(Poc.values)
FAR_FUTURE = date.max  # the end of an open-ended assignment, for overlap checks
MAX_LENGTHS = {  # the model fields' max_length
    "opportunity_id": 100,
    "account": 100,
    "rep": 200,
    "partner": 200,
    "strategic_play": 200,
    "deliverables": 200,
    "territory": 120,  # each name of the path
}


@dataclass
class ImportResult:
    org: Organization
    rows: int
    counts: Counts
    assignments: Counts | None = None
    org_created: bool = False

    def __str__(self) -> str:
        text = f"{self.rows} row(s) into {self.org.slug!r}: {self.counts}"
        if self.assignments is not None:
            text += f"; assignments: {self.assignments}"
        return text + (" (organisation created)" if self.org_created else "")


def organization_lookup(slug: str) -> Organization | None:
    try:
        validate_slug(slug)
    except ValidationError:
        fail(f"{slug!r} is not a valid organisation slug (letters, digits, - and _)")
    return Organization.objects.filter(slug=slug).first()


def _date(row: Row, column: str, errors: ErrorList):
    try:
        return parse_date(row.values.get(column)), True
    except ValueError as exc:
        errors.add(str(exc), row=row.number, column=column)
        return None, False


def _too_long(row: Row, column: str, value: str, errors: ErrorList) -> bool:
    limit = MAX_LENGTHS[column]
    if len(value) > limit:
        errors.add(f"{value[:40]!r}… is longer than {limit} characters", row=row.number, column=column)
        return True
    return False


# --- reps -------------------------------------------------------------------------------------------


def reps_import(*, org_slug: str, path: str | Path) -> ImportResult:
    """Reps and their effective-dated assignments: one row per assignment, matched by rep name.

    For each rep named in the file, its rows are its complete assignment history (rows of the file
    are added, changed by start date, and stored assignments the file no longer lists are removed);
    reps the file does not name are left alone. A row with an empty territory lists a rep with no
    assignment. The rep's email is the one its rows give (blank clears it).
    """
    org = organization_lookup(org_slug)
    root = org.root_territory() if org else None
    root_name = root.name if root else None
    errors = ErrorList()
    reps: dict[str, RepRecord] = {}
    email_rows: dict[str, int] = {}
    placed: dict[str, list[tuple[int, AssignmentRecord]]] = {}
    rows = 0
    for row in read_table(path, columns=REP_COLUMNS):
        rows += 1
        if row.overflow:
            errors.add("more values than columns (an unquoted comma?)", row=row.number)
        name = row.text("rep")
        if not name:
            errors.add("the rep name is required", row=row.number, column="rep")
            continue
        ok = not _too_long(row, "rep", name, errors)
        email = row.text("email")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.add(f"{email!r} is not a valid email address", row=row.number, column="email")
                ok = False
        record = reps.setdefault(name, RepRecord(email=""))
        if email:
            if record.email and record.email != email:
                errors.add(
                    f"{name} has email {record.email} on row {email_rows[name]}; one email per rep",
                    row=row.number,
                    column="email",
                )
                ok = False
            record.email = email
            email_rows.setdefault(name, row.number)

        territory = row.text("territory")
        start, start_ok = _date(row, "start_date", errors)
        end, end_ok = _date(row, "end_date", errors)
        if not territory:
            if start or end:
                errors.add("dates are given but the territory is empty", row=row.number, column="territory")
            continue
        try:
            names = split_path(territory)
        except ValidationError as exc:
            errors.add(exc.messages[0], row=row.number, column="territory")
            continue
        if any(len(n) > MAX_LENGTHS["territory"] for n in names):
            errors.add(
                f"a territory name is longer than {MAX_LENGTHS['territory']} characters",
                row=row.number,
                column="territory",
            )
            ok = False
        if root_name is None:
            root_name = names[0]  # an organisation without territories takes the file's root
        elif names[0] != root_name:
            errors.add(
                f"the path {territory!r} must start with the root territory {root_name!r}",
                row=row.number,
                column="territory",
            )
            ok = False
        if start is None:
            if start_ok:
                errors.add("a start date is required for an assignment", row=row.number, column="start_date")
            continue
        if not (ok and end_ok):
            continue
        if end is not None and end < start:
            errors.add(f"end_date {end} is before start_date {start}", row=row.number, column="end_date")
            continue
        assignment = AssignmentRecord("/".join(names), start, end)
        for other_row, other in placed.setdefault(name, []):
            if other.start <= (end or FAR_FUTURE) and start <= (other.end or FAR_FUTURE):
                errors.add(
                    f"{name}'s assignment {start} – {end or '…'} overlaps the one on row {other_row} "
                    f"({other.start} – {other.end or '…'})",
                    row=row.number,
                    column="start_date",
                )
                break
        else:
            placed[name].append((row.number, assignment))
            record.assignments.append(assignment)
    errors.raise_if_any()

    with transaction.atomic():
        created = org is None
        if org is None:
            org = organization_create(name=org_slug, slug=org_slug, root_name=root_name or org_slug)
        rep_counts, assignment_counts = reps_write(org=org, reps=reps)
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


class OpportunityRules:
    """Validates one opportunity row (the generic columns) given the known rep and product names."""

    def __init__(self, *, reps: set[str], products: set[str]) -> None:
        self.reps = reps
        self.products = products

    @classmethod
    def for_org(cls, org: Organization | None) -> OpportunityRules:
        if org is None:
            return cls(reps=set(), products=set())
        return cls(
            reps=set(Rep.objects.filter(org=org).values_list("name", flat=True)),
            products=set(Product.objects.filter(org=org).values_list("name", flat=True)),
        )

    def clean(
        self, row: Row, errors: ErrorList, *, file: str | None = None, labels: dict[str, str] | None = None
    ) -> OpportunityRecord | None:
        """The row as a record, or None after adding its errors to ``errors``.

        ``labels`` renames columns in error messages, for a source whose columns have other names.
        """
        before = errors.total
        n = row.number
        labels = labels or {}

        def add(message: str, column: str | None = None) -> None:
            errors.add(message, row=n, column=labels.get(column or "", column), file=file)

        def too_long(column: str, value: str) -> bool:
            limit = MAX_LENGTHS[column]
            if len(value) > limit:
                add(f"{value[:40]!r}… is longer than {limit} characters", column)
                return True
            return False

        if row.overflow:
            add("more values than columns (an unquoted comma?)")
        external_id = row.text("opportunity_id")
        if not external_id:
            add("the opportunity id is required", "opportunity_id")
        else:
            too_long("opportunity_id", external_id)

        reps = {}
        for column in ("rep", "identified_by"):
            reps[column] = row.text(column) or None
            if reps[column] and reps[column] not in self.reps:
                add(f"unknown rep {reps[column]!r} (import it with import_reps first)", column)

        account = row.text("account") or None
        if account:
            too_long("account", account)
        products = split_list(row.values.get("products"))
        for product in products:
            if product not in self.products:
                add(f"unknown product {product!r}", "products")

        stage = row.text("stage").lower()
        if not stage:
            add("the stage is required", "stage")
        elif stage not in CLOSED_STAGES and stage not in OPEN_STAGES:
            add(
                f"unknown stage {row.text('stage')!r}; expected won, lost or an open stage "
                f"({', '.join(STAGE_ORDER)})",
                "stage",
            )

        dates: dict[str, date | None] = {}
        for column in ("created_date", "engage_date", "close_date"):
            try:
                dates[column] = parse_date(row.values.get(column))
            except ValueError as exc:
                add(str(exc), column)
                dates[column] = None
        if stage in CLOSED_STAGES and dates["close_date"] is None and row.text("close_date") == "":
            add(f"a {stage} deal needs a close_date", "close_date")
        if stage in OPEN_STAGES and dates["close_date"] is not None:
            add(f"an open deal (stage {stage}) cannot have a close_date", "close_date")
        for earlier, later in (
            ("created_date", "engage_date"),
            ("engage_date", "close_date"),
            ("created_date", "close_date"),
        ):
            first, then = dates[earlier], dates[later]
            if first and then and then < first:
                add(f"{later} {then} is before {earlier} {first}", later)
                break

        money = {}
        for column in ("amount", "profit"):
            try:
                money[column] = parse_decimal(row.values.get(column))
            except ValueError as exc:
                add(str(exc), column)
                money[column] = None
        if money["amount"] is not None and money["amount"] < 0:
            add(f"the amount must not be negative ({row.text('amount')})", "amount")

        partner = row.text("partner") or None
        if partner:
            too_long("partner", partner)
        channel = row.text("channel").lower() or (Channel.PARTNER if partner else Channel.DIRECT)
        if channel not in CHANNELS:
            add(f"unknown channel {row.text('channel')!r}; expected direct or partner", "channel")
        elif partner and channel != Channel.PARTNER:
            add("a partner is only allowed on the partner channel", "partner")
        poc = row.text("poc").lower() or Poc.NONE
        if poc not in POCS:
            add(f"unknown poc {row.text('poc')!r}; expected {', '.join(Poc.values)}", "poc")
        play = row.text("strategic_play") or None
        if play:
            too_long("strategic_play", play)
        deliverables = split_list(row.values.get("deliverables"))
        for deliverable in deliverables:
            if too_long("deliverables", deliverable):
                break

        if errors.total > before:
            return None
        return OpportunityRecord(
            external_id=external_id,
            stage=stage,
            rep=reps["rep"],
            account=account,
            products=products,
            created_date=dates["created_date"],
            engage_date=dates["engage_date"],
            close_date=dates["close_date"],
            amount=money["amount"],
            profit=money["profit"],
            channel=str(channel),
            partner=partner,
            strategic_play=play,
            poc=str(poc),
            deliverables=deliverables,
            identified_by=reps["identified_by"],
        )


def opportunities_import(*, org_slug: str, path: str | Path) -> ImportResult:
    """Opportunities keyed by ``opportunity_id``; a credited territory set by a data set is kept.

    The file is read twice — once to validate it all, once to write it in batches — so memory stays
    bounded by the set of ids and referenced names, not by the rows.
    """
    org = organization_lookup(org_slug)
    rules = OpportunityRules.for_org(org)
    errors = ErrorList()
    references = References()
    first_row: dict[str, int] = {}
    rows = 0
    for row in read_table(path, columns=OPPORTUNITY_COLUMNS):
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

    def records(again: ErrorList) -> Iterator[OpportunityRecord]:
        for row in read_table(path, columns=OPPORTUNITY_COLUMNS):
            record = rules.clean(row, again)
            if record is not None:
                yield record

    with transaction.atomic():
        created = org is None
        if org is None:
            org = organization_create(name=org_slug, slug=org_slug)
        again = ErrorList()
        counts = opportunities_write(org=org, records=records(again), references=references)
        again.raise_if_any()  # the file changed between the two passes: roll back
        rollups_mark_stale(org=org, counts=[counts])
    return ImportResult(org, rows, counts, org_created=created)


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
