"""Row validation for products, certifications and programme participations (DESIGN §5).

Each ``*Rows`` class takes the rows of one file in order (``add``), checking each and the file as a
whole (a key given twice, a certification type or programme described two ways); nothing here reads a
file or writes to the database.
"""

from __future__ import annotations

from datetime import date

from people.models import CertificationCategory, ProgramKind

from .errors import ErrorList
from .readers import Row
from .rules import RepNames, RowCheck
from .sync_catalog import CertificationRecord, ProductRecord, ProgrammeRecord


def choice_text(value: str) -> str:
    """A stored choice as DESIGN §5 writes it in a file: ``customer_industry`` → ``customer-industry``."""
    return value.replace("_", "-")


def _choice(check: RowCheck, column: str, values: list[str], what: str) -> str | None:
    """The column's choice (``customer-industry``, ``Customer industry`` and ``customer_industry`` all
    read as ``customer_industry``), or None after adding an error."""
    text = check.row.text(column)
    value = text.lower().replace("-", "_").replace(" ", "_")
    if value in values:
        return value
    expected = ", ".join(choice_text(v) for v in values)
    check.add(
        f"{what} is required; expected one of {expected}"
        if not text
        else f"unknown {what} {text!r}; expected one of {expected}",
        column,
    )
    return None


def _period(
    check: RowCheck, first: str, last: str, *, first_what: str
) -> tuple[date | None, date | None, bool]:
    """Two date columns, the first required, the second (optional) not before it."""
    start, start_ok = check.parsed_date(first)
    end, end_ok = check.parsed_date(last)
    if start is None and start_ok:
        check.add(f"{first_what} is required", first)
        return None, None, False
    if start and end and end < start:
        check.add(f"{last} {end} is before {first} {start}", last)
        return start, end, False
    return start, end, start_ok and end_ok


class ProductRows:
    """``product, line, list_price``: one row per product, keyed on its name."""

    def __init__(self) -> None:
        self.products: dict[str, ProductRecord] = {}
        self.first_row: dict[str, int] = {}

    def add(self, row: Row, errors: ErrorList) -> None:
        before = errors.total
        check = RowCheck(row, errors)
        if row.overflow:
            check.add("more values than columns (an unquoted comma?)")
        name = check.name("product", field="product", what="the product name")
        line = check.name("line", field="line", what="the product line")
        price, _ = check.parsed_decimal("list_price", places=2, limit_digits=12)
        if price is not None and price < 0:
            check.add(f"the list price must not be negative ({row.text('list_price')})", "list_price")
        if name and name in self.first_row:
            check.add(f"duplicate product {name!r} (first on row {self.first_row[name]})", "product")
        if errors.total > before:
            return
        self.first_row[name] = row.number
        self.products[name] = ProductRecord(line=line, list_price=price)


class _TypedRows:
    """Rows naming a rep and a catalog entry (certification type, programme) described on every row."""

    entry_what: str

    def __init__(self, reps: RepNames) -> None:
        self.reps = reps
        self.described: dict[str, tuple[tuple[str, ...], int]] = {}  # entry → (its description, row)
        self.keys: dict[tuple, int] = {}  # record key → first row

    def describe(self, check: RowCheck, name: str, description: tuple[str, ...], column: str) -> bool:
        """The entry's description (its choice first, then any text) must be the same on every row."""
        seen = self.described.setdefault(name, (description, check.row.number))
        if seen[0] != description:
            choice, *texts = seen[0]
            shown = ", ".join([choice_text(choice), *(t or "(blank)" for t in texts)])
            check.add(
                f"{self.entry_what} {name!r} is described differently on row {seen[1]} ({shown}); "
                f"one description per {self.entry_what}",
                column,
            )
            return False
        return True

    def first(self, check: RowCheck, key: tuple, column: str, what: str) -> bool:
        seen = self.keys.setdefault(key, check.row.number)
        if seen != check.row.number:
            check.add(f"duplicate {what} (first on row {seen})", column)
            return False
        return True


class CertificationRows(_TypedRows):
    """``rep, certification, category, issuer, earned, expires``: keyed on rep + certification +
    earned; the certification type (category, issuer) is created when new."""

    entry_what = "certification"

    def __init__(self, reps: RepNames) -> None:
        super().__init__(reps)
        self.records: list[CertificationRecord] = []
        self.types: dict[str, tuple[str, str]] = {}

    def add(self, row: Row, errors: ErrorList) -> None:
        before = errors.total
        check = RowCheck(row, errors)
        if row.overflow:
            check.add("more values than columns (an unquoted comma?)")
        rep = self.reps.check(check, "rep", required=True)
        name = check.name("certification", field="name", what="the certification")
        category = _choice(check, "category", list(CertificationCategory.values), "category")
        issuer = check.name("issuer", field="name", what="the issuer", required=False)
        earned, expires, _ = _period(check, "earned", "expires", first_what="the date it was earned")
        if errors.total > before or not (rep and category and earned):
            return
        if not self.describe(check, name, (category, issuer), "category"):
            return
        if not self.first(
            check, (rep, name, earned), "earned", f"certification {name} of {rep} earned {earned}"
        ):
            return
        self.types[name] = (category, issuer)
        self.records.append(CertificationRecord(rep=rep, certification=name, earned=earned, expires=expires))


class ProgrammeRows(_TypedRows):
    """``rep, programme, kind, start, end``: keyed on rep + programme + start; the programme is
    created when new."""

    entry_what = "programme"

    def __init__(self, reps: RepNames) -> None:
        super().__init__(reps)
        self.records: list[ProgrammeRecord] = []
        self.kinds: dict[str, str] = {}

    def add(self, row: Row, errors: ErrorList) -> None:
        before = errors.total
        check = RowCheck(row, errors)
        if row.overflow:
            check.add("more values than columns (an unquoted comma?)")
        rep = self.reps.check(check, "rep", required=True)
        name = check.name("programme", field="name", what="the programme")
        kind = _choice(check, "kind", list(ProgramKind.values), "kind")
        start, end, _ = _period(check, "start", "end", first_what="the start date")
        if errors.total > before or not (rep and kind and start):
            return
        if not self.describe(check, name, (kind,), "kind"):
            return
        if not self.first(
            check, (rep, name, start), "start", f"participation of {rep} in {name} from {start}"
        ):
            return
        self.kinds[name] = kind
        self.records.append(ProgrammeRecord(rep=rep, programme=name, start=start, end=end))
