"""Signals the territory tree sends to the apps above it (which this app must not import)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``org_id`` inside the transaction that moved or renamed territories: the rollups of the
# organisation are stale. Receivers that write should do so in that transaction, so that the change and
# its consequence commit together.
tree_changed = Signal()
