"""Idempotent bulk writes shared by the generic and the data-set importers.

Callers validate first and call these inside one transaction. Every write compares with what is
stored and touches only rows that differ, so re-running an import changes nothing (not even
``Opportunity.updated_at``); keys are external ids and names within the organisation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from kpis import recompute
from sales.models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay
from scorecard import locks
from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import territory_get_or_create_path

from .errors import ErrorList

BATCH_SIZE = 1000


class _Keep:
    """Marks a field the import does not carry: the stored value is left alone."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.deleted} deleted" if self.deleted else "")


@dataclass(slots=True)
class OpportunityRecord:
    """A validated opportunity row; references are names (external id for the account)."""

    external_id: str
    stage: str
    rep: str | None = None
    account: str | None = None
    products: tuple[str, ...] = ()
    created_date: date | None = None
    engage_date: date | None = None
    close_date: date | None = None
    amount: Decimal | None = None
    profit: Decimal | None = None
    channel: str = "direct"
    partner: str | None = None
    strategic_play: str | None = None
    poc: str = "none"
    deliverables: tuple[str, ...] = ()
    identified_by: str | None = None
    territory: Any = KEEP  # full path of the credited territory (rep-less deals), None, or KEEP


@dataclass
class References:
    """Names of on-demand rows (accounts, partners, plays, deliverables) an import refers to."""

    accounts: set[str] = field(default_factory=set)
    partners: set[str] = field(default_factory=set)
    plays: set[str] = field(default_factory=set)
    deliverables: set[str] = field(default_factory=set)

    def add(self, record: OpportunityRecord) -> None:
        if record.account:
            self.accounts.add(record.account)
        if record.partner:
            self.partners.add(record.partner)
        if record.strategic_play:
            self.plays.add(record.strategic_play)
        self.deliverables.update(record.deliverables)


@dataclass
class AssignmentRecord:
    territory: str  # full path from the root
    start: date
    end: date | None = None


@dataclass
class RepRecord:
    email: Any = KEEP
    external_id: Any = KEEP
    assignments: list[AssignmentRecord] = field(default_factory=list)


def rollups_mark_stale(*, org, counts: Iterable[Counts]) -> None:
    """After a change, every period's rollups are stale; the bulk writes above send no model signals."""
    if any(c.changed for c in counts):
        recompute.deals_changed(org.pk, None)
        recompute.request(org.pk, None)


def rows_upsert(
    model: type[models.Model], *, org, key: str, rows: dict[str, dict[str, Any]], batch_size: int = BATCH_SIZE
) -> tuple[dict[str, int], Counts]:
    """Creates or updates ``model`` rows of ``org`` keyed by ``key``; fields set to KEEP are left alone.

    Returns the ids of all the organisation's rows by key, and what changed.
    """
    counts = Counts()
    existing = {getattr(obj, key): obj for obj in model._default_manager.filter(org=org)}
    new, changed, changed_fields = [], [], set()
    for k, values in rows.items():
        values = {f: v for f, v in values.items() if v is not KEEP}
        obj = existing.get(k)
        if obj is None:
            new.append(model(org=org, **{key: k}, **values))
            continue
        diff = [f for f, v in values.items() if getattr(obj, f) != v]
        if diff:
            for f in diff:
                setattr(obj, f, values[f])
            changed.append(obj)
            changed_fields.update(diff)
        else:
            counts.unchanged += 1
    model._default_manager.bulk_create(new, batch_size=batch_size)
    if changed:
        model._default_manager.bulk_update(changed, sorted(changed_fields), batch_size=batch_size)
    counts.created, counts.updated = len(new), len(changed)
    ids = dict(model._default_manager.filter(org=org).values_list(key, "id"))
    return ids, counts


def names_ensure(
    model: type[models.Model], *, org, names: Iterable[str], key: str = "name"
) -> dict[str, int]:
    """Ids by key of the organisation's ``model`` rows, creating the missing ones (accounts get name = key)."""
    ids = dict(model._default_manager.filter(org=org).values_list(key, "id"))
    missing = sorted(set(names) - ids.keys())
    if missing:
        extra = (lambda n: {"name": n}) if key != "name" else (lambda n: {})
        model._default_manager.bulk_create(
            [model(org=org, **{key: n}, **extra(n)) for n in missing], batch_size=BATCH_SIZE
        )
        ids = dict(model._default_manager.filter(org=org).values_list(key, "id"))
    return ids


def territories_ensure(*, org, owners: dict[str, str | None]) -> dict[str, int]:
    """Creates the missing territories among the paths ``owners`` maps; sets owner names given (None = keep).

    Returns the ids of all the organisation's territories by full path.
    """
    cache: dict[str, Territory] = {}
    for path, owner_name in owners.items():
        node = territory_get_or_create_path(org=org, path=path, cache=cache)
        if owner_name is not None and node.owner_name != owner_name:
            Territory.objects.filter(pk=node.pk).update(owner_name=owner_name)
    return dict(Territory.objects.filter(org=org).values_list("full_name", "id"))


def reps_write(*, org, reps: dict[str, RepRecord]) -> tuple[Counts, Counts]:
    """Upserts reps by name; each listed rep's assignments become exactly its records (others untouched).

    Unchanged assignments keep their rows; the rest are deleted, updated in place (same start) or
    created, in an order that never makes two of one rep's assignments overlap, as the database forbids.
    """
    territory_ids = territories_ensure(
        org=org, owners={a.territory: None for r in reps.values() for a in r.assignments}
    )
    rep_ids, rep_counts = rows_upsert(
        Rep,
        org=org,
        key="name",
        rows={name: {"email": r.email, "external_id": r.external_id} for name, r in reps.items()},
    )
    counts = Counts()
    existing: dict[int, list[TerritoryAssignment]] = defaultdict(list)
    for assignment in TerritoryAssignment.objects.filter(rep_id__in=[rep_ids[n] for n in reps]):
        existing[assignment.rep_id].append(assignment)
    to_delete, to_update, to_create = [], [], []
    for name, record in reps.items():
        rep_id = rep_ids[name]
        wanted = {a.start: (territory_ids[a.territory], a.end) for a in record.assignments}
        for assignment in existing[rep_id]:
            target = wanted.pop(assignment.start, None)
            if target is None:
                to_delete.append(assignment.pk)
            elif (assignment.territory_id, assignment.end) != target:
                assignment.territory_id, assignment.end = target
                to_update.append(assignment)
            else:
                counts.unchanged += 1
        to_create += [
            TerritoryAssignment(org=org, rep_id=rep_id, territory_id=t, start=start, end=end)
            for start, (t, end) in wanted.items()
        ]
    TerritoryAssignment.objects.filter(pk__in=to_delete).delete()
    # Earliest first: each row moves only within the room its successors (fixed starts) leave.
    for assignment in sorted(to_update, key=lambda a: a.start):
        assignment.save(update_fields=["territory", "end"])
    bulk_create_with_history(to_create, TerritoryAssignment, batch_size=BATCH_SIZE)
    counts.created, counts.updated, counts.deleted = len(to_create), len(to_update), len(to_delete)
    return rep_counts, counts


_FIELDS = {  # attname → field name, for the plain and foreign-key columns an import sets
    "rep_id": "rep",
    "territory_id": "territory",
    "account_id": "account",
    "stage": "stage",
    "created_date": "created_date",
    "engage_date": "engage_date",
    "close_date": "close_date",
    "amount": "amount",
    "profit": "profit",
    "channel": "channel",
    "partner_id": "partner",
    "strategic_play_id": "strategic_play",
    "poc": "poc",
    "identified_by_id": "identified_by",
}


_LINKS = {  # many-to-many field → (its through model, the through column of the target)
    "products": (Opportunity.products.through, "product_id"),
    "deliverables": (Opportunity.deliverables.through, "deliverable_id"),
}


@dataclass
class _BatchChanges:
    """What writing one batch changes: the fields are already set on the ``changed`` objects."""

    new: list[Opportunity] = field(default_factory=list)
    changed: dict[int, Opportunity] = field(default_factory=dict)  # pk → opportunity to update
    changed_fields: set[str] = field(default_factory=set)
    # Each opportunity of the batch with the target ids its links should have, by many-to-many field.
    wanted_links: list[tuple[Opportunity, dict[str, set[int]]]] = field(default_factory=list)


class _OpportunityWriter:
    def __init__(self, org, references: References) -> None:
        self.org = org
        self.reps = dict(Rep.objects.filter(org=org).values_list("name", "id"))
        self.products = dict(Product.objects.filter(org=org).values_list("name", "id"))
        self.territories = dict(Territory.objects.filter(org=org).values_list("full_name", "id"))
        self.accounts = names_ensure(Account, org=org, names=references.accounts, key="external_id")
        self.partners = names_ensure(Partner, org=org, names=references.partners)
        self.plays = names_ensure(StrategicPlay, org=org, names=references.plays)
        self.deliverables = names_ensure(Deliverable, org=org, names=references.deliverables)
        self.counts = Counts()
        self.locked = locks.day_checker(org)
        self.errors = ErrorList()

    def refuse_locked(self, obj: Opportunity, *days: date | None) -> None:
        """A deal closing (before or after this import) in a locked period may not change."""
        for day in days:
            lock = self.locked(day)
            if lock is not None:
                what = f"opportunity {obj.external_id} closing on {day.isoformat()} cannot change"  # type: ignore[union-attr]
                self.errors.add(locks.lock_message(lock, what), column="close_date")
                return

    def values(self, r: OpportunityRecord) -> dict[str, Any]:
        values = {
            "rep_id": self.reps[r.rep] if r.rep else None,
            "account_id": self.accounts[r.account] if r.account else None,
            "stage": r.stage,
            "created_date": r.created_date,
            "engage_date": r.engage_date,
            "close_date": r.close_date,
            "amount": r.amount,
            "profit": r.profit,
            "channel": r.channel,
            "partner_id": self.partners[r.partner] if r.partner else None,
            "strategic_play_id": self.plays[r.strategic_play] if r.strategic_play else None,
            "poc": r.poc,
            "identified_by_id": self.reps[r.identified_by] if r.identified_by else None,
        }
        if r.territory is not KEEP:
            values["territory_id"] = self.territories[r.territory] if r.territory else None
        return values

    def write(self, batch: list[OpportunityRecord]) -> None:
        existing = {
            o.external_id: o
            for o in Opportunity.objects.filter(org=self.org, external_id__in=[r.external_id for r in batch])
        }
        stored_links = _links_stored([o.pk for o in existing.values()])
        changes = self._changes(batch, existing)
        Opportunity.objects.bulk_create(changes.new, batch_size=BATCH_SIZE)
        fields_changed = set(changes.changed)
        _links_update(changes, stored_links, existing)
        for pk in changes.changed.keys() - fields_changed:  # only the products or deliverables changed
            self.refuse_locked(changes.changed[pk], changes.changed[pk].close_date)
        if changes.changed:
            now = timezone.now()
            for obj in changes.changed.values():
                obj.updated_at = now
            Opportunity.objects.bulk_update(
                list(changes.changed.values()),
                sorted(changes.changed_fields | {"updated_at"}),
                batch_size=BATCH_SIZE,
            )
        self.counts.created += len(changes.new)
        self.counts.updated += len(changes.changed)
        self.counts.unchanged += len(batch) - len(changes.new) - len(changes.changed)

    def _changes(self, batch: list[OpportunityRecord], existing: dict[str, Opportunity]) -> _BatchChanges:
        """The batch's new opportunities, the changed ones with their new values set, and the links wanted."""
        changes = _BatchChanges()
        for record in batch:
            values = self.values(record)
            targets = {
                "products": {self.products[p] for p in record.products},
                "deliverables": {self.deliverables[d] for d in record.deliverables},
            }
            obj = existing.get(record.external_id)
            if obj is None:
                obj = Opportunity(org=self.org, external_id=record.external_id, **values)
                changes.new.append(obj)
                self.refuse_locked(obj, obj.close_date)
            else:
                diff = [f for f, v in values.items() if getattr(obj, f) != v]
                if diff:
                    self.refuse_locked(obj, obj.close_date, values["close_date"])
                for f in diff:
                    setattr(obj, f, values[f])
                if diff:
                    changes.changed[obj.pk] = obj
                    changes.changed_fields.update(_FIELDS[f] for f in diff)
            changes.wanted_links.append((obj, targets))
        return changes


def _links_stored(opportunity_ids: list[int]) -> dict[str, dict[int, dict[int, int]]]:
    """The stored links of the opportunities: by many-to-many field, opportunity and target, the link id."""
    stored: dict[str, dict[int, dict[int, int]]] = {}
    for name, (through, column) in _LINKS.items():
        stored[name] = defaultdict(dict)
        for link_id, opp_id, target in through._default_manager.filter(
            opportunity_id__in=opportunity_ids
        ).values_list("id", "opportunity_id", column):
            stored[name][opp_id][target] = link_id
    return stored


def _links_update(
    changes: _BatchChanges, stored: dict[str, dict[int, dict[int, int]]], existing: dict[str, Opportunity]
) -> None:
    """Makes the links the wanted ones; an existing opportunity whose links change counts as changed."""
    to_add: dict[str, list[tuple[int, int]]] = {name: [] for name in _LINKS}
    to_remove: dict[str, list[int]] = {name: [] for name in _LINKS}
    for obj, targets in changes.wanted_links:
        for name in _LINKS:
            have = stored[name].get(obj.pk, {})
            add = targets[name] - have.keys()
            remove = [link for target, link in have.items() if target not in targets[name]]
            to_add[name] += [(obj.pk, t) for t in sorted(add)]
            to_remove[name] += remove
            if (add or remove) and obj.external_id in existing:
                changes.changed[obj.pk] = obj
    for name, (through, column) in _LINKS.items():
        through._default_manager.filter(pk__in=to_remove[name]).delete()
        _links_insert(through, column, to_add[name])


def _links_insert(through: type[models.Model], column: str, pairs: list[tuple[int, int]]) -> None:
    """Plain executemany for (opportunity, target) link rows: several times faster than bulk_create here."""
    if not pairs:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(through._meta.db_table)} ({quote('opportunity_id')}, {quote(column)}) "
            "VALUES (%s, %s)",
            pairs,
        )


def opportunities_write(
    *, org, records: Iterable[OpportunityRecord], references: References, batch_size: int = BATCH_SIZE
) -> Counts:
    """Upserts opportunities by external id, in batches; reps, products and territories must exist.

    A deal closing in a locked period (before or after the change) may not be created or changed:
    ``ImportFailed`` names each such deal; call it inside a transaction so that nothing is kept."""
    writer = _OpportunityWriter(org, references)
    batch: list[OpportunityRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            writer.write(batch)
            batch = []
    if batch:
        writer.write(batch)
    writer.errors.raise_if_any()  # the caller's transaction rolls the batches back
    return writer.counts
