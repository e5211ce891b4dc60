"""Writes for certifications and programme participation: every page that creates or changes one goes
through here (the model signals in ``kpis/signals.py`` then mark the affected rollups stale).

Period locks do not apply: DESIGN §3 has them freeze deals, measurements and targets, and a
certification earned (or reported late) in a closed quarter is a fact about the rep, not a revision
of a reviewed figure.
"""

from __future__ import annotations

import calendar
from datetime import date

from django.db import transaction

from .models import Certification, ProgramParticipation


def months_after(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@transaction.atomic
def certification_save(*, certification: Certification) -> Certification:
    """Validate and store a new or changed certification.

    An empty expiry date on a type with a validity is filled in (earned + validity months); a rep holds a
    given certification earned on a given day once (``Certification.clean``)."""
    kind = certification.type
    if certification.expires is None and kind.validity_months and certification.earned is not None:
        certification.expires = months_after(certification.earned, kind.validity_months)
    certification.full_clean()
    certification.save()
    return certification


@transaction.atomic
def participation_save(*, participation: ProgramParticipation) -> ProgramParticipation:
    """Validate and store a new or changed programme participation (one per rep, programme and start:
    ``ProgramParticipation.clean``)."""
    participation.full_clean()
    participation.save()
    return participation
