"""Organisation integrity in the model layer: a row's foreign keys point inside the row's organisation.

The forms offer only the organisation's own entries; these checks are the backstop for every other
caller (imports, services, the shell). Each model's ``clean()`` calls them, and the services call
``full_clean()``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

FOREIGN = "Choose one of your organisation's entries."


def foreign_org_errors(row: models.Model, *fields: str) -> dict[str, str]:
    """{field: message} for each named foreign key of ``row`` whose target belongs to another
    organisation than ``row.org``. The message names nothing of the other organisation."""
    org_id = getattr(row, "org_id", None)
    if org_id is None:
        return {}
    errors: dict[str, str] = {}
    for name in fields:
        if getattr(row, f"{name}_id", None) is None:
            continue
        if getattr(getattr(row, name), "org_id", org_id) != org_id:
            errors[name] = FOREIGN
    return errors


def refuse_foreign_org(row: models.Model, *fields: str) -> None:
    """ValidationError on the fields of ``row`` that point into another organisation."""
    errors = foreign_org_errors(row, *fields)
    if errors:
        raise ValidationError(errors)
