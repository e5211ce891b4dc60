"""Writes for KPIs: stored rollups, KPI definitions, targets and measurements."""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from simple_history.utils import bulk_create_with_history

from perspectives.models import Objective, ObjectiveLink, Perspective
from scorecard import access, locks
from scorecard.models import Membership, Organization, Role
from territories.models import Rep, Territory

from . import formula as formula_lang
from . import recompute, store, units
from .models import (
    KPI,
    DealChange,
    InputChange,
    Measurement,
    Note,
    NoteKind,
    RecomputeRequest,
    RollupRun,
    ScopeRollup,
    Source,
    Target,
)
from .rollup import warm
from .rollup.compute import Rollup
from .rollup.deals import deliverable_links
from .rollup.result import Batch
from .template import KPIS, LINKS, OBJECTIVES, PERSPECTIVES


@dataclass
class Plan:
    """What a recompute covers: the fiscal years to store (None: all), the logged deal changes and
    measurement or target changes it consumes, and the deals this process kept from its last run, when
    they can be brought up to date (with the measurements and targets, when none of those changed)."""

    years: list[str] | None
    changes: list[tuple[int, int | None]]
    kept: warm.WarmDeals | None
    input_changes: list[int]


@transaction.atomic
def rollups_recompute(
    *, org: Organization, period_keys: Iterable[str] | None = None, today: date | None = None
) -> int:
    """Recompute and store the rollups of every scope in the given periods (None = every period).

    Idempotent: afterwards the stored rows of those periods are exactly what the inputs give; only
    periods with data are stored, so recomputing some periods stores what a full recompute stores for
    them. Rows are per (scope, fiscal year), so the whole years of the periods are recomputed; rows
    whose figures did not change are left as they are (an edit rewrites the rows of its rep and
    territory path, not the whole year). Returns the (scope, period) figures the years hold.
    """
    started = time.perf_counter()
    today = today or timezone.localdate()
    plan = _plan(org, period_keys, today)
    rollup, years = _compute(org, plan, today)
    batch = rollup.result(_periods(org, years))
    existing, same_layout = _stored_rows(org, years, plan.kept, batch.kpi_ids, batch.covered())
    hook = settings.SCORECARD_RECOMPUTE_BEFORE_WRITE
    if hook:  # fault injection (tests only): e.g. hold the transaction open here
        import_string(hook)(org)
    run, rows, changed = _write(org, plan, batch, years, rollup.stored_years, existing, same_layout, today)
    if settings.SCORECARD_WARM_ORGS > 0:
        _keep_warm(org, rollup, run.token, plan.kept, batch, rows, years)
    RollupRun.objects.filter(pk=run.pk).update(seconds=time.perf_counter() - started, rows=changed)
    # Runs whose rows have all been replaced by later ones are of no further use.
    in_use = set(ScopeRollup.objects.filter(org=org).values_list("run_id", flat=True).distinct())
    RollupRun.objects.filter(org=org).exclude(pk__in=in_use | {run.pk}).delete()
    return batch.stored_cells


def _plan(org: Organization, period_keys: Iterable[str] | None, today: date) -> Plan:
    years = None
    if period_keys is not None:
        steps = recompute.transform_depth(list(KPI.objects.filter(org=org, active=True)))
        stale = recompute.with_dependents(period_keys, steps, org.fiscal_year_start_month, today)
        years = sorted({store.row_of(org, key)[0] for key in stale})
    if (
        connection.vendor == "postgresql"
    ):  # one recompute of an organisation at a time (SQLite: the write lock)
        list(Organization.objects.select_for_update(no_key=True).filter(pk=org.pk).values_list("pk"))
    changes = list(DealChange.objects.filter(org=org).values_list("pk", "opportunity_id"))
    input_changes = list(InputChange.objects.filter(org=org).values_list("pk", flat=True))
    kept = None
    if (
        settings.SCORECARD_WARM_ORGS > 0
        and years is not None
        and all(opp is not None for _pk, opp in changes)
    ):
        newest = RollupRun.objects.filter(org=org).order_by("-pk").values_list("token", flat=True).first()
        kept = warm.take(org.pk, newest)
        if kept is not None:
            kept.changed = {opp for _pk, opp in changes if opp is not None}
            if input_changes:
                kept.forget_period_rows()
    return Plan(years, changes, kept, input_changes)


def _compute(org: Organization, plan: Plan, today: date) -> tuple[Rollup, list[str] | None]:
    """The rollup over the plan's years, and the years to store (grown when the data's range grew)."""
    keeping = settings.SCORECARD_WARM_ORGS > 0
    years = plan.years
    rollup = Rollup(org, today=today, period_keys=_periods(org, years), warm=plan.kept, full_grid=keeping)
    if years is not None:
        # The data's date range may have grown: years that now have rows are stored too, and so are
        # the first and last years stored so far, whose periods outside the old range now have rows
        # (with a fiscal year from April, a certificate in 2026-06 opens FY2027 and also brings
        # 2026-01..03 of FY2026 into the range).
        have = set(ScopeRollup.objects.filter(org=org).values_list("year", flat=True).distinct())
        opened = set(rollup.stored_years) - have  # years with data and no rows yet
        missing = opened - set(years)
        edges = {min(have), max(have)} - set(years) if opened and have else set()
        if missing or edges:
            years = sorted(set(years) | missing | edges)
            if rollup.window is not None:
                rollup = Rollup(org, today=today, period_keys=_periods(org, years))
    return rollup, years


def _stored_rows(
    org: Organization,
    years: list[str] | None,
    kept: warm.WarmDeals | None,
    kpi_ids: list[int],
    covered: set[tuple[int | None, int | None]] | None,
) -> tuple[dict[tuple, tuple], set[int | None]]:
    """The stored rows to compare with, by (territory id, rep id, year) → (pk, run id, data), and the runs
    whose rows have the batch's layout: the rows this process wrote last (kept with the deals), else read.
    ``covered``: only those (territory id, rep id) scopes' rows (the others cannot have changed and are
    left as they are); None: every scope's."""
    if kept is not None and kept.rows is not None and kept.kpi_ids == kpi_ids and years is not None:
        wanted = set(years)
        return {
            key: (None, None, data)
            for key, data in kept.rows.items()
            if key[2] in wanted and (covered is None or key[:2] in covered)
        }, {None}
    rows = ScopeRollup.objects.filter(org=org)
    if years is not None:
        rows = rows.filter(year__in=years)
    if covered is not None:
        rows = rows.filter(
            Q(territory_id__in=[t for t, _r in covered if t is not None])
            | Q(rep_id__in=[r for _t, r in covered if r is not None])
        )
    existing = {
        (territory_id, rep_id, year): (pk, run_id, data)
        for pk, run_id, territory_id, rep_id, year, data in rows.values_list(
            "pk", "run_id", "territory_id", "rep_id", "year", "data"
        )
    }
    runs = RollupRun.objects.filter(pk__in={run_id for _pk, run_id, _data in existing.values()})
    same_layout: set[int | None] = {pk for pk, ids in runs.values_list("pk", "kpi_ids") if ids == kpi_ids}
    return existing, same_layout


def _write(
    org: Organization,
    plan: Plan,
    batch: Batch,
    years: list[str] | None,
    stored_years: list[str],
    existing: dict[tuple, tuple],
    same_layout: set[int | None],
    today: date,
) -> tuple[RollupRun, list[tuple], int]:
    """Store the rows that changed, delete those that did or are no longer stored; returns the run, every
    row of the batch and how many were written."""
    for model, seen in (
        (DealChange, [pk for pk, _opp in plan.changes]),
        (InputChange, plan.input_changes),
    ):
        for i in range(0, len(seen), 5000):
            model.objects.filter(pk__in=seen[i : i + 5000]).delete()
    run = RollupRun.objects.create(
        org=org,
        kpi_ids=batch.kpi_ids,
        today=today,
        periods=years,
        started_at=timezone.now(),
        token=uuid.uuid4().hex,
    )
    rows = store.encode(batch, org.pk, run.pk)
    changed: list[tuple] = []
    gone: list[tuple[int | None, tuple]] = []  # by primary key when read, by key when kept in memory
    for row in rows:
        key = (row[2], row[3], row[4])
        old = existing.pop(key, None)
        if old is not None and old[1] in same_layout and bytes(old[2]) == row[5]:
            continue  # unchanged: keep the stored row
        if old is not None:
            gone.append((old[0], key))
        changed.append(row)
    gone += [(pk, key) for key, (pk, _run, _data) in existing.items()]  # no longer stored
    gone_pks = [pk for pk, _key in gone if pk is not None]
    for i in range(0, len(gone_pks), 5000):
        ScopeRollup.objects.filter(pk__in=gone_pks[i : i + 5000]).delete()
    _delete_rows(org, [key for pk, key in gone if pk is None])
    store.insert(changed)
    if years is not None:  # or shrunk: years outside it keep no rows
        ScopeRollup.objects.filter(org=org).exclude(year__in=stored_years).delete()
    return run, rows, len(changed)


def _keep_warm(
    org: Organization,
    rollup: Rollup,
    token: str,
    kept: warm.WarmDeals | None,
    batch: Batch,
    rows: list[tuple],
    years: list[str] | None,
) -> None:
    """Keep the deals (and, when known, the stored rows) in this process for the next recompute. Kept at
    once: if this transaction rolls back, its token never becomes the newest, so what is kept is simply
    not used."""
    state = rollup.keep(token)
    known = kept.rows if kept is not None and kept.kpi_ids == batch.kpi_ids else None
    if years is None or known is not None:
        stored = {} if known is None else known
        recomputed, still = set(years or ()), set(rollup.stored_years)
        covered = batch.covered()
        for key in [
            k
            for k in stored
            if (k[2] in recomputed and (covered is None or k[:2] in covered)) or k[2] not in still
        ]:
            del stored[key]
        stored.update(((row[2], row[3], row[4]), row[5]) for row in rows)
        state.rows, state.kpi_ids = stored, batch.kpi_ids
    warm.keep(org.pk, state)


def _periods(org: Organization, years: list[str] | None) -> list[str] | None:
    """Every period key of the fiscal years (None: every period)."""
    return None if years is None else [key for year in years for key in store.year_periods(org, year)]


def _delete_rows(org: Organization, keys: list[tuple]) -> None:
    """Delete stored rows by (territory id, rep id, year): one statement per year."""
    by_year: dict[str, tuple[list[int], list[int]]] = {}
    for territory_id, rep_id, year in keys:
        territories, reps = by_year.setdefault(year, ([], []))
        (territories if territory_id is not None else reps).append(territory_id or rep_id)
    for year, (territories, reps) in by_year.items():
        ScopeRollup.objects.filter(org=org, year=year).filter(
            Q(territory_id__in=territories) | Q(rep_id__in=reps)
        ).delete()


class Later(enum.Enum):
    """Why a pending recompute did not run now, and so when to try again."""

    SETTLING = "settling"  # changes are still arriving: after the settle time
    LOCKED = "locked"  # another run holds the organisation's lock: after a growing backoff


# Runs one embedded recompute makes at most: again while requests it did not see are waiting.
EMBEDDED_PASSES = 3


def rollups_recompute_pending(org_id: int, *, embedded: bool = False) -> int | Later:
    """Recompute the stale periods of one organisation under its lock.

    Returns the rollups stored, or why it should run again shortly (the pending flag then stays set: it
    stands for that retry, so a burst costs one run). A run deletes only the requests it read, as it read
    them (``recompute.requests_done``): one made or re-stamped meanwhile stays for the next run.

    ``embedded``: tasks run in the caller's process (no broker), so there is no retry and nothing else
    would pick up work left behind. It never asks to run again: with the lock taken it clears the flag and
    leaves the requests to the lock's holder, which runs again while requests it did not see are waiting,
    or else to the next run; and it first recomputes other organisations' leftover requests (a sweep).
    """
    if embedded:
        recompute.sweep_embedded(org_id)
    elif recompute.settling(org_id):
        return Later.SETTLING
    token = recompute.lock_acquire(org_id)
    if token is None:
        if embedded:
            recompute.pending_clear(org_id)
            return 0
        return Later.LOCKED
    try:
        stored = 0
        for _ in range(EMBEDDED_PASSES if embedded else 1):
            recompute.pending_clear(org_id)
            taken = recompute.requests_taken(org_id)
            if not taken:
                break
            periods = {period for _pk, period, _stamp in taken}
            stored = rollups_recompute(
                org=Organization.objects.get(pk=org_id),
                period_keys=None if RecomputeRequest.ALL in periods else periods,
            )
            recompute.count_run(org_id)
            recompute.requests_done(taken)
    finally:
        recompute.lock_release(org_id, token)
    _verify_kept(org_id)
    return stored


def _verify_kept(org_id: int) -> None:
    """After a run that brought kept deals up to date (committed, the lock released): check them against
    the database (``warm.verify``). When they disagree and no change is waiting, the deals are forgotten
    and every period is requested: a write outside the receivers may have changed any of them. A change
    committed since the run would also explain it: then the next run, which it requested, checks again."""
    if warm.verify(org_id, lambda: deliverable_links(org_id)):
        return
    if not RecomputeRequest.objects.filter(org_id=org_id).exists():
        warm.forget(org_id)
        recompute.request(org_id, None)


KPI_FIELDS = {f.name for f in KPI._meta.concrete_fields} - {"id", "org", "updated_at"}


@transaction.atomic
def kpi_create(*, org: Organization, objective, slug: str, name: str, reason: str = "", **fields) -> KPI:
    """A new KPI, validated as a whole: the catalog (model), and a formula against the organisation's
    other KPIs (it must name known KPIs and not loop). ``reason`` goes into its history."""
    kpi = KPI(org=org, objective=objective, slug=slug, name=name, **fields)
    _kpi_validate(kpi)
    kpi._change_reason = reason.strip() or None  # type: ignore[attr-defined]  # read by simple-history
    kpi.save()
    return kpi


@transaction.atomic
def kpi_update(*, kpi: KPI, reason: str = "", **fields) -> KPI:
    """Change a KPI (re-weight, retire with ``active=False``, redefine); ``reason`` goes into its history."""
    unknown = set(fields) - KPI_FIELDS
    if unknown:
        raise ValueError(f"not KPI fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(kpi, name, value)
    _kpi_validate(kpi)
    kpi._change_reason = reason.strip() or None  # type: ignore[attr-defined]
    kpi.save()
    return kpi


def _kpi_validate(kpi: KPI) -> None:
    kpi.full_clean()
    if kpi.source == Source.FORMULA:
        kpi_formula_validate(org=kpi.org, slug=kpi.slug, formula=kpi.formula)


def kpi_formula_validate(*, org: Organization, slug: str, formula: str) -> None:
    """A formula parses, names only the organisation's KPIs and does not refer to itself through them."""
    others = KPI.objects.filter(org=org)
    formulas = {k.slug: k.formula for k in others if k.source == Source.FORMULA and k.slug != slug}
    try:
        formula_lang.validate(slug, formula, formulas, [k.slug for k in others])
    except formula_lang.FormulaError as exc:
        raise ValidationError({"formula": f"{exc}"}) from exc


@transaction.atomic
def target_set(
    *, kpi: KPI, period: str, goal, red_flag=None, territory=None, rep=None, reason: str = "", set_by=None
) -> Target:
    """Set the current target; the previous one stays as history, stamped superseded."""
    kpi.org.parse_period(period)
    locks.refuse_locked_period(kpi.org, period, "its targets cannot change")
    if (territory is None) == (rep is None):
        raise ValidationError("A target is for exactly one territory or one rep.")
    # The row's foreign keys are checked before anything is superseded.
    Target(org_id=kpi.org_id, kpi=kpi, territory=territory, rep=rep).clean()
    now = timezone.now()
    Target.objects.filter(
        kpi=kpi, territory=territory, rep=rep, period=period, superseded_at__isnull=True
    ).update(superseded_at=now)
    return Target.objects.create(
        org_id=kpi.org_id,
        kpi=kpi,
        territory=territory,
        rep=rep,
        period=period,
        goal=goal,
        red_flag=red_flag,
        reason=reason,
        set_by=set_by,
    )


def measurement_value(kpi: KPI, value) -> Decimal:
    """A manual entry as stored: a number (text such as "12abc" is refused) within the KPI's range —
    its own ``min_value`` / ``max_value``, else its unit's (``kpis.units``). ValidationError on ``value``
    otherwise, with a message saying what to enter."""
    try:
        return units.parse_entry(value, kpi.unit, kpi.name, low=kpi.min_value, high=kpi.max_value)
    except units.EntryError as exc:
        raise ValidationError({"value": str(exc)}, code="invalid") from None


@transaction.atomic
def measurement_set(
    *, kpi: KPI, period: str, value, territory=None, rep=None, weight=None, note: str = "", entered_by=None
) -> Measurement:
    """Enter (or replace) a manual KPI's value for one territory or rep and period; refused in a locked
    period, for a KPI that is not manual, and for a value outside the KPI's range."""
    kpi.org.parse_period(period)
    locks.refuse_locked_period(kpi.org, period, "its measurements cannot change")
    if kpi.source != Source.MANUAL:
        raise ValidationError(f"{kpi.name} is not a manual KPI.")
    if (territory is None) == (rep is None):
        raise ValidationError("A measurement is for exactly one territory or one rep.")
    Measurement(org_id=kpi.org_id, kpi=kpi, territory=territory, rep=rep).clean()
    value = measurement_value(kpi, value)
    measurement, _ = Measurement.objects.update_or_create(
        kpi=kpi,
        territory=territory,
        rep=rep,
        period=period,
        defaults={
            "org_id": kpi.org_id,
            "value": value,
            "weight": weight,
            "note": note,
            "entered_by": entered_by,
        },
    )
    return measurement


@transaction.atomic
def measurement_clear(*, kpi: KPI, period: str, territory=None, rep=None) -> bool:
    """Remove a manual entry (the KPI is then null there, never 0); refused in a locked period.
    Returns whether there was one."""
    kpi.org.parse_period(period)
    locks.refuse_locked_period(kpi.org, period, "its measurements cannot change")
    deleted, _ = Measurement.objects.filter(kpi=kpi, territory=territory, rep=rep, period=period).delete()
    return deleted > 0


def scorecard_template_create(org) -> None:
    """Create the default perspectives, objectives, links and KPIs for ``org`` (inside the caller's transaction)."""
    perspectives = {}
    for order, spec in enumerate(PERSPECTIVES, start=1):
        perspectives[spec["slug"]] = Perspective.objects.create(org=org, order=order, **spec)
    objectives = {}
    for order, (perspective, slug, name, weight) in enumerate(OBJECTIVES, start=1):
        objectives[slug] = Objective.objects.create(
            org=org, perspective=perspectives[perspective], slug=slug, name=name, weight=weight, order=order
        )
    # Bulk writes with their first history record, so the first change later has something to diff.
    bulk_create_with_history(
        [ObjectiveLink(org=org, cause=objectives[c], effect=objectives[e]) for c, e in LINKS], ObjectiveLink
    )
    bulk_create_with_history(
        [
            KPI(
                org=org,
                order=order,
                objective=objectives[spec["objective"]],
                **{k: v for k, v in spec.items() if k != "objective"},
            )
            for order, spec in enumerate(KPIS, start=1)
        ],
        KPI,
    )


def note_create(
    *,
    membership: Membership,
    kind: str,
    period: str,
    text: str,
    territory: Territory | None = None,
    rep: Rep | None = None,
    kpi: KPI | None = None,
    objective: Objective | None = None,
    owner=None,
    due_date: date | None = None,
) -> Note:
    """A review comment (on a KPI or objective of a territory), a coaching note or an action item (on a
    rep, optionally about one KPI) for a period. Admins anywhere, managers inside their subtree; viewers
    and reps may not write (PermissionDenied)."""
    org = membership.org
    key = org.parse_period(period).key
    if not text.strip():
        raise ValidationError({"text": "Write something."})
    if rep is None and territory is None:
        raise ValidationError("A note is about a territory or a rep.")
    if rep is None and kpi is None and objective is None:
        raise ValidationError("A review comment is about a KPI or an objective.")
    if kind not in NoteKind.values:
        raise ValidationError({"kind": f"Unknown kind {kind!r}."})
    if kind == NoteKind.COMMENT and rep is not None:
        raise ValidationError({"kind": "Review comments are on a territory's KPIs and objectives."})
    if not may_write_note(membership, territory=territory, rep=rep):
        raise PermissionDenied("Only admins and the managers of this territory write notes here.")
    note = Note(
        org=org,
        kind=kind,
        period=key,
        text=text.strip(),
        territory=territory,
        rep=rep,
        kpi=kpi,
        objective=objective,
        author=membership.user,
        owner=owner if kind == NoteKind.ACTION else None,
        due_date=due_date if kind == NoteKind.ACTION else None,
    )
    note.full_clean()
    note.save()
    return note


def note_done_set(*, membership: Membership, note: Note, done: bool) -> Note:
    """Tick an action item off (or back on): its owner, or whoever may write notes there.

    Permission first: a read-only member is refused (403) whatever the note is."""
    if note.owner_id != membership.user_id and not may_write_note(
        membership, territory=note.territory, rep=note.rep
    ):
        raise PermissionDenied("Only the owner or the managers here tick this off.")
    if note.kind != NoteKind.ACTION:
        raise ValidationError("Only action items are done or not.")
    note.done = done
    note.save(update_fields=["done"])
    return note


def may_write_note(membership: Membership, *, territory: Territory | None, rep: Rep | None) -> bool:
    if membership.role == Role.ADMIN:
        return True
    if membership.role != Role.MANAGER:
        return False
    if rep is not None:
        return access.sees_rep(membership, rep)
    return territory is not None and access.may_manage_territory(membership, territory)
