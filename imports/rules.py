"""Row validation for the generic and the data-set importers: a row becomes a record, or its errors.

Errors are located as the user sees them (row as the spreadsheet shows it, header = row 1, and
column) and collected in an ``ErrorList``; nothing here reads a file or writes to the database.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from sales.models import CLOSED_STAGES, OPEN_STAGES, Channel, Poc, Product, Stage
from scorecard.models import Organization
from territories.models import Rep
from territories.services import split_path

from .errors import ErrorList
from .options import UnknownNames
from .readers import Row, parse_date, parse_decimal, split_list
from .sync import AssignmentRecord, OpportunityRecord, RepRecord

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
    "product": 200,
    "line": 100,
    "name": 200,  # certification types, programmes
    "note": 500,  # measurement notes, target reasons
}


class RowCheck:
    """Checks the cells of one row, adding each problem to ``errors`` at the row and column.

    ``labels`` renames columns in error messages, for a source whose columns have other names.
    """

    def __init__(
        self, row: Row, errors: ErrorList, *, file: str | None = None, labels: dict[str, str] | None = None
    ) -> None:
        self.row = row
        self.errors = errors
        self.file = file
        self.labels = labels or {}

    def add(self, message: str, column: str | None = None) -> None:
        self.errors.add(
            message, row=self.row.number, column=self.labels.get(column or "", column), file=self.file
        )

    def too_long(self, column: str, value: str, *, field: str | None = None) -> bool:
        """Adds an error when ``value`` is longer than the field (``MAX_LENGTHS`` of ``field`` or ``column``)."""
        limit = MAX_LENGTHS[field or column]
        if len(value) > limit:
            self.add(f"{value[:40]!r}… is longer than {limit} characters", column)
            return True
        return False

    def parsed_date(self, column: str) -> tuple[date | None, bool]:
        """The column's date (None when blank) and whether it parsed."""
        try:
            return parse_date(self.row.values.get(column)), True
        except ValueError as exc:
            self.add(str(exc), column)
            return None, False

    def parsed_decimal(
        self, column: str, *, places: int, limit_digits: int, required: bool = False, what: str = "a value"
    ) -> tuple[Decimal | None, bool]:
        """The column's number (None when blank) and whether it is valid (given, when ``required``)."""
        try:
            number = parse_decimal(self.row.values.get(column), places=places, limit_digits=limit_digits)
        except ValueError as exc:
            self.add(str(exc), column)
            return None, False
        if number is None and required:
            self.add(f"{what} is required", column)
            return None, False
        return number, True

    def name(self, column: str, *, field: str, what: str, required: bool = True) -> str:
        """The column's trimmed text, after adding an error when it is missing or too long."""
        text = self.row.text(column)
        if not text:
            if required:
                self.add(f"{what} is required", column)
        else:
            self.too_long(column, text, field=field)
        return text


class RepNames:
    """Checks a column naming a rep: known reps pass; an unknown one is listed in ``unknown`` and is a
    row error unless ``create_missing`` (the wizard's explicit choice to create it)."""

    def __init__(self, known: set[str], *, unknown: UnknownNames | None, create_missing: bool) -> None:
        self.known = known
        self.unknown = unknown if unknown is not None else UnknownNames()
        self.create_missing = create_missing

    @classmethod
    def for_org(
        cls, org: Organization | None, *, unknown: UnknownNames | None, create_missing: bool
    ) -> RepNames:
        known = set(Rep.objects.filter(org=org).values_list("name", flat=True)) if org else set()
        return cls(known, unknown=unknown, create_missing=create_missing)

    def check(self, check: RowCheck, column: str, *, required: bool = False) -> str | None:
        """The column's rep name (None when blank), after adding any error about it."""
        name = check.row.text(column) or None
        if name is None:
            if required:
                check.add("the rep name is required", column)
            return None
        if name not in self.known:
            if check.too_long("rep", name):
                return name
            self.unknown.reps.add(name)
            if not self.create_missing:
                check.add(f"unknown rep {name!r} (import it with import_reps first)", column)
        return name


# --- reps -------------------------------------------------------------------------------------------


class RepRows:
    """The rows of a reps file, checked in order: each named rep with its email and assignments.

    ``root_name`` is the root territory every path must start with; an organisation without
    territories takes the root of the file's first path.
    """

    def __init__(self, *, root_name: str | None) -> None:
        self.root_name = root_name
        self.reps: dict[str, RepRecord] = {}
        self.email_rows: dict[str, int] = {}  # rep name → row of its email
        self.assignment_rows: dict[str, list[tuple[int, AssignmentRecord]]] = {}  # rep name → (row, ·)

    def add(self, row: Row, errors: ErrorList) -> None:
        """Records the row's rep, email and assignment, or adds the row's errors to ``errors``."""
        check = RowCheck(row, errors)
        if row.overflow:
            check.add("more values than columns (an unquoted comma?)")
        name = row.text("rep")
        if not name:
            check.add("the rep name is required", "rep")
            return
        name_ok = not check.too_long("rep", name)
        email_ok = self._email_add(check, name)
        assignment = self._assignment(check, ok=name_ok and email_ok)
        if assignment is not None:
            self._assignment_add(check, name, assignment)

    def _email_add(self, check: RowCheck, name: str) -> bool:
        """Lists the rep with the row's email; False after adding an error (invalid, or a second one)."""
        email = check.row.text("email")
        ok = True
        if email:
            try:
                validate_email(email)
            except ValidationError:
                check.add(f"{email!r} is not a valid email address", "email")
                ok = False
        record = self.reps.setdefault(name, RepRecord(email=""))
        if email:
            if record.email and record.email != email:
                check.add(
                    f"{name} has email {record.email} on row {self.email_rows[name]}; one email per rep",
                    "email",
                )
                ok = False
            record.email = email
            self.email_rows.setdefault(name, check.row.number)
        return ok

    def _assignment(self, check: RowCheck, *, ok: bool) -> AssignmentRecord | None:
        """The row's assignment: None for a row without one, or after adding the row's errors.

        ``ok`` says whether the rest of the row is valid; an invalid row yields no assignment.
        """
        territory = check.row.text("territory")
        start, start_ok = check.parsed_date("start_date")
        end, end_ok = check.parsed_date("end_date")
        if not territory:
            if start or end:
                check.add("dates are given but the territory is empty", "territory")
            return None
        try:
            names = split_path(territory)
        except ValidationError as exc:
            check.add(exc.messages[0], "territory")
            return None
        path_ok = self._path_check(check, territory, names)
        if start is None:
            if start_ok:
                check.add("a start date is required for an assignment", "start_date")
            return None
        if not (ok and path_ok and end_ok):
            return None
        if end is not None and end < start:
            check.add(f"end_date {end} is before start_date {start}", "end_date")
            return None
        return AssignmentRecord("/".join(names), start, end)

    def _path_check(self, check: RowCheck, territory: str, names: list[str]) -> bool:
        """Whether the path's names fit their field and it starts at the root (adding errors if not)."""
        ok = True
        if any(len(n) > MAX_LENGTHS["territory"] for n in names):
            check.add(f"a territory name is longer than {MAX_LENGTHS['territory']} characters", "territory")
            ok = False
        if self.root_name is None:
            self.root_name = names[0]  # an organisation without territories takes the file's root
        elif names[0] != self.root_name:
            check.add(
                f"the path {territory!r} must start with the root territory {self.root_name!r}", "territory"
            )
            ok = False
        return ok

    def _assignment_add(self, check: RowCheck, name: str, assignment: AssignmentRecord) -> None:
        """Adds the assignment to the rep's unless it overlaps one of theirs (an error then)."""
        start, end = assignment.start, assignment.end
        listed = self.assignment_rows.setdefault(name, [])
        for other_row, other in listed:
            if other.start <= (end or FAR_FUTURE) and start <= (other.end or FAR_FUTURE):
                check.add(
                    f"{name}'s assignment {start} – {end or '…'} overlaps the one on row {other_row} "
                    f"({other.start} – {other.end or '…'})",
                    "start_date",
                )
                return
        listed.append((check.row.number, assignment))
        self.reps[name].assignments.append(assignment)


# --- opportunities ----------------------------------------------------------------------------------


class OpportunityRules:
    """Validates one opportunity row (the generic columns) given the known rep and product names.

    Unknown reps and products are listed in ``unknown`` (when given); they are row errors unless
    ``create_missing``.
    """

    def __init__(
        self,
        *,
        reps: set[str],
        products: set[str],
        unknown: UnknownNames | None = None,
        create_missing: bool = False,
        retired: dict[str, date] | None = None,
    ) -> None:
        self.reps = reps
        self.products = products
        self.retired = retired or {}  # product name -> the day it is no longer sold from
        self.unknown = unknown if unknown is not None else UnknownNames()
        self.create_missing = create_missing

    @classmethod
    def for_org(
        cls, org: Organization | None, *, unknown: UnknownNames | None = None, create_missing: bool = False
    ) -> OpportunityRules:
        names = RepNames.for_org(org, unknown=unknown, create_missing=create_missing)
        rows = list(Product.objects.filter(org=org).values_list("name", "retired_on")) if org else []
        return cls(
            reps=names.known,
            products={name for name, _ in rows},
            unknown=names.unknown,
            create_missing=create_missing,
            retired={name: day for name, day in rows if day is not None},
        )

    def clean(
        self, row: Row, errors: ErrorList, *, file: str | None = None, labels: dict[str, str] | None = None
    ) -> OpportunityRecord | None:
        """The row as a record, or None after adding its errors to ``errors``.

        ``labels`` renames columns in error messages, for a source whose columns have other names.
        """
        before = errors.total
        check = RowCheck(row, errors, file=file, labels=labels)
        if row.overflow:
            check.add("more values than columns (an unquoted comma?)")
        external_id = _opportunity_id(check)
        reps = self._rep_names(check)
        account = _name(check, "account")
        products = self._product_names(check)
        stage = _stage(check)
        dates = _dates(check, stage)
        money = _amount_and_profit(check)
        partner = _name(check, "partner")
        channel = _channel(check, partner)
        poc = _poc(check)
        play = _name(check, "strategic_play")
        deliverables = _deliverable_names(check)
        self._not_retired(check, products, dates["created_date"])
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
            channel=channel,
            partner=partner,
            strategic_play=play,
            poc=poc,
            deliverables=deliverables,
            identified_by=reps["identified_by"],
        )

    def _rep_names(self, check: RowCheck) -> dict[str, str | None]:
        """The ``rep`` and ``identified_by`` names; each must be a known rep (or one to create)."""
        names = RepNames(self.reps, unknown=self.unknown, create_missing=self.create_missing)
        return {column: names.check(check, column) for column in ("rep", "identified_by")}

    def _not_retired(self, check: RowCheck, products: tuple[str, ...], created: date | None) -> None:
        """A deal opened on or after a product's retirement cannot name it (older deals keep theirs)."""
        for product in products:
            retired = self.retired.get(product)
            if retired is not None and created is not None and created >= retired:
                check.add(
                    f"product {product!r} is retired from {retired:%Y-%m-%d}: a deal created on "
                    f"{created:%Y-%m-%d} cannot name it",
                    "products",
                )

    def _product_names(self, check: RowCheck) -> tuple[str, ...]:
        products = split_list(check.row.values.get("products"))
        for product in products:
            if product not in self.products:
                self.unknown.products.add(product)
                if not self.create_missing:
                    check.add(f"unknown product {product!r}", "products")
                else:
                    check.too_long("products", product, field="product")
        return products


def _opportunity_id(check: RowCheck) -> str:
    external_id = check.row.text("opportunity_id")
    if not external_id:
        check.add("the opportunity id is required", "opportunity_id")
    else:
        check.too_long("opportunity_id", external_id)
    return external_id


def _name(check: RowCheck, column: str) -> str | None:
    """An optional name (account, partner, strategic play): None when blank."""
    name = check.row.text(column) or None
    if name:
        check.too_long(column, name)
    return name


def _stage(check: RowCheck) -> str:
    stage = check.row.text("stage").lower()
    if not stage:
        check.add("the stage is required", "stage")
    elif stage not in CLOSED_STAGES and stage not in OPEN_STAGES:
        check.add(
            f"unknown stage {check.row.text('stage')!r}; expected won, lost or an open stage "
            f"({', '.join(STAGE_ORDER)})",
            "stage",
        )
    return stage


def _dates(check: RowCheck, stage: str) -> dict[str, date | None]:
    """The created, engage and close dates, in that order: a won or lost deal needs its close date; an
    open deal's close date, when given, is when it is expected to close (as the deal form and the
    export have it)."""
    dates: dict[str, date | None] = {}
    for column in ("created_date", "engage_date", "close_date"):
        dates[column], _ = check.parsed_date(column)
    if stage in CLOSED_STAGES and dates["close_date"] is None and check.row.text("close_date") == "":
        check.add(f"a {stage} deal needs a close_date", "close_date")
    for earlier, later in (
        ("created_date", "engage_date"),
        ("engage_date", "close_date"),
        ("created_date", "close_date"),
    ):
        first, then = dates[earlier], dates[later]
        if first and then and then < first:
            check.add(f"{later} {then} is before {earlier} {first}", later)
            break
    return dates


def _amount_and_profit(check: RowCheck) -> dict[str, Decimal | None]:
    money: dict[str, Decimal | None] = {}
    for column in ("amount", "profit"):
        try:
            money[column] = parse_decimal(check.row.values.get(column))
        except ValueError as exc:
            check.add(str(exc), column)
            money[column] = None
    amount = money["amount"]
    if amount is not None and amount < 0:
        check.add(f"the amount must not be negative ({check.row.text('amount')})", "amount")
    return money


def _channel(check: RowCheck, partner: str | None) -> str:
    """The channel, partner by default when a partner is named; only the partner channel has one."""
    channel = check.row.text("channel").lower() or (Channel.PARTNER if partner else Channel.DIRECT)
    if channel not in CHANNELS:
        check.add(f"unknown channel {check.row.text('channel')!r}; expected direct or partner", "channel")
    elif partner and channel != Channel.PARTNER:
        check.add("a partner is only allowed on the partner channel", "partner")
    return str(channel)


def _poc(check: RowCheck) -> str:
    poc = check.row.text("poc").lower() or Poc.NONE
    if poc not in POCS:
        check.add(f"unknown poc {check.row.text('poc')!r}; expected {', '.join(Poc.values)}", "poc")
    return str(poc)


def _deliverable_names(check: RowCheck) -> tuple[str, ...]:
    deliverables = split_list(check.row.values.get("deliverables"))
    for deliverable in deliverables:
        if check.too_long("deliverables", deliverable):
            break
    return deliverables
