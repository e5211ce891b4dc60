"""What management commands of every app share."""

from __future__ import annotations

import csv
import json

from django.core.management.base import CommandError

from .models import Organization


def organization_get(slug: str) -> Organization:
    """The organisation with ``slug``, or a one-line command error."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(f"unknown organisation {slug!r}")
    return org


def reader_gone(write) -> None:
    """Run ``write`` (output to stdout); when the reader closes the pipe early (``| head``), stop quietly
    as command-line tools do instead of printing a traceback."""
    import os
    import sys

    try:
        write()
        sys.stdout.flush()
        return
    except BrokenPipeError:
        pass
    # Outside the except block, so the writer's frames (and any open database cursor) are released now.
    # Python would complain again when flushing stdout at exit: point it at /dev/null first.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(0)


def rows_write(stdout, rows: list[dict], fieldnames: list[str], output_format: str) -> None:
    """Report rows as a JSON list or as CSV with a header, stopping quietly if the reader goes away."""

    def write() -> None:
        if output_format == "csv":
            writer = csv.DictWriter(stdout, fieldnames=fieldnames, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        else:
            stdout.write(json.dumps(rows, indent=1))

    reader_gone(write)
