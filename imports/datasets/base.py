"""What every data set module produces: the parsed, validated ``Dataset`` and the module's interface.

The data set modules import this module, never the package: ``imports.datasets`` imports them to
build its registry, so an import back into the package would be a loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from imports.sync import OpportunityRecord, RepRecord


@dataclass
class Dataset:
    territories: dict[str, str | None] = field(default_factory=dict)  # full path → owner name (None: keep)
    reps: dict[str, RepRecord] = field(default_factory=dict)
    products: dict[str, dict] = field(default_factory=dict)  # name → field values
    accounts: dict[str, dict] = field(default_factory=dict)  # external id → field values
    opportunities: list[OpportunityRecord] = field(default_factory=list)


class DatasetSource(Protocol):
    """A data set module: the company a new organisation is named after, and its loader."""

    COMPANY: str

    def load(self, path: Path, /, *, root: str) -> Dataset: ...
