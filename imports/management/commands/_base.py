"""What every import/export command shares: error reporting and timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.errors import ImportFailed
from scorecard.commands import organization_get, reader_gone


class ImportCommand(BaseCommand):
    def run_import(self, action: Callable[[], Any]) -> None:
        """Runs ``action``; on ImportFailed prints every error line and exits non-zero."""
        started = time.perf_counter()
        try:
            result = action()
        except ImportFailed as failed:
            for line in failed.lines():
                self.stderr.write(line)
            raise CommandError(str(failed)) from None
        self.stdout.write(str(result))
        self.stdout.write(f"done in {time.perf_counter() - started:.2f} s")


class FileImportCommand(ImportCommand):
    """``import_<kind> FILE --org SLUG``: one generic import (DESIGN §5), all rows or none."""

    importer: Callable[..., Any]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV (UTF-8, comma-separated) or XLSX")
        parser.add_argument("--org", required=True, help="organisation slug")

    def handle(self, *args, **options) -> None:
        self.run_import(lambda: self.importer(org_slug=options["org"], path=options["file"]))


class ExportCommand(BaseCommand):
    """Write one kind of row in the columns its importer reads (CSV, or XLSX by suffix; - = stdout)."""

    export: Callable[..., int]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="organisation slug")

    def handle(self, *args, **options) -> None:
        org = organization_get(options["org"])
        if options["file"] == "-":
            reader_gone(lambda: self.export(org=org, path=self.stdout))
            return
        count = self.export(org=org, path=options["file"])
        self.stdout.write(f"{count} row(s) written to {options['file']}")
