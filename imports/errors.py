"""Row-level import errors, collected over a whole file before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn


@dataclass(frozen=True)
class RowError:
    """One problem, located as the user sees it: file, row (the header is row 1) and column."""

    message: str
    row: int | None = None
    column: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ImportFailed(Exception):
    """Nothing was written; ``errors`` says why (at most ``ErrorList.LIMIT`` of ``total``)."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        self.errors = errors
        self.total = total if total is not None else len(errors)
        super().__init__(f"{self.total} error(s); nothing was imported.")

    def lines(self) -> list[str]:
        lines = [str(e) for e in self.errors]
        if self.total > len(self.errors):
            lines.append(f"… and {self.total - len(self.errors)} more error(s) not shown.")
        return lines


class ErrorList:
    """Collects errors while a file is validated; keeps the first ``LIMIT`` and counts the rest."""

    LIMIT = 1000

    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.items: list[RowError] = []
        self.total = 0

    def add(
        self, message: str, *, row: int | None = None, column: str | None = None, file: str | None = None
    ) -> None:
        self.total += 1
        if len(self.items) < self.LIMIT:
            self.items.append(RowError(message, row=row, column=column, file=file or self.file))

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportFailed(self.items, self.total)


def fail(
    message: str, *, row: int | None = None, column: str | None = None, file: str | None = None
) -> NoReturn:
    """Stop at once: a file-level problem (unreadable, wrong format, bad header)."""
    raise ImportFailed([RowError(message, row=row, column=column, file=file)])
