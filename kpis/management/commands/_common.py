from __future__ import annotations

from django.core.management.base import CommandError

from scorecard.models import Organization


def get_org(slug: str) -> Organization:
    try:
        return Organization.objects.get(slug=slug)
    except Organization.DoesNotExist:
        raise CommandError(f"unknown organisation {slug!r}") from None
