"""What every import/export command shares: error reporting and timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from imports.errors import ImportFailed
from scorecard.models import Organization


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


def organization_get(slug: str) -> Organization:
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(f"no organisation with slug {slug!r}")
    return org
