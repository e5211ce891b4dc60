"""Organisation lifecycle signals: the apps above the core add what an organisation holds of theirs."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside organization_create's transaction with ``org`` and ``root_name`` (the root territory's name).
organization_created = Signal()
# Sent by organization_delete with ``org`` and ``collect(queryset)``: each app hands over its rows that
# point at protected ones (reps, territories, the catalog), to be deleted first, in one collector.
organization_deleting = Signal()
# Sent by organization_settings_update with ``org`` and ``month`` (the new fiscal year start month) before
# the change. Years and quarters are keyed by the fiscal calendar, so rows stored under a year or quarter
# key would silently move to other months (or no longer parse). Each receiver returns descriptions of
# such rows of its own ("12 targets"); any description blocks the change.
fiscal_calendar_changing = Signal()
# Sent inside the transaction that changed ``org``'s fiscal year start month: every year and quarter of
# the stored figures is another span now, so they must all be recomputed.
fiscal_calendar_changed = Signal()
