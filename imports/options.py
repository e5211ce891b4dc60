"""How an import runs: what the commands take by default and what the wizard chooses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from .readers import Limits, Row, read_table


@dataclass
class UnknownNames:
    """Reps and products a file names that the organisation does not have (yet)."""

    reps: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.reps or self.products)

    def as_dict(self) -> dict[str, list[str]]:
        return {"reps": sorted(self.reps), "products": sorted(self.products)}


@dataclass
class ImportOptions:
    """``mapping``: our column → the file's column (the wizard; None = the file has our columns).
    ``create_missing``: unknown reps and products named by the rows are created rather than errors
    (an explicit choice in the wizard; never by default). ``dry_run``: validate and write, then roll
    back, to preview what an import would do. ``progress`` is called with the number of rows read
    so far. ``user`` is recorded as who set the targets and entered the measurements."""

    mapping: Mapping[str, str] | None = None
    create_missing: bool = False
    dry_run: bool = False
    user: Any = None
    progress: Callable[[int], None] | None = None
    limits: Limits | None = None
    unknown: UnknownNames = field(default_factory=UnknownNames)

    def rows(self, path: str | Path, columns: Sequence[str]) -> Iterator[Row]:
        """The file's rows (through the mapping, within the limits), reporting progress."""
        rows = read_table(path, columns=columns, mapping=self.mapping, limits=self.limits)
        for count, row in enumerate(rows, start=1):
            if self.progress is not None:
                self.progress(count)
            yield row

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One transaction for the whole write, rolled back after a dry run."""
        with transaction.atomic():
            yield
            if self.dry_run:
                transaction.set_rollback(True)
