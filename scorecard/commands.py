"""What management commands of every app share."""

from __future__ import annotations

from django.core.management.base import CommandError

from .models import Organization


def organization_get(slug: str) -> Organization:
    """The organisation with ``slug``, or a one-line command error."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(f"unknown organisation {slug!r}")
    return org
