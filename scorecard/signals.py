"""Organisation lifecycle signals: the apps above the core add what an organisation holds of theirs."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside organization_create's transaction with ``org`` and ``root_name`` (the root territory's name).
organization_created = Signal()
# Sent by organization_delete with ``org`` and ``collect(queryset)``: each app hands over its rows that
# point at protected ones (reps, territories, the catalog), to be deleted first, in one collector.
organization_deleting = Signal()
