"""Random sequences of every kind of write that can change a stored figure, each followed by the
change-driven recompute a worker runs, checked against a recompute from scratch after every step
(``test_write_paths_stateful.py`` runs it on SQLite, and on PostgreSQL through a real Celery worker).

The writes go where the product's pages, admin and imports send them: services, model saves and deletes
(cascades included), many-to-many changes from either side, the territory services, imports. The
process keeps the organisation's deals warm between steps, as a long-lived worker does.
"""

from __future__ import annotations

import csv
import itertools
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.db.models import ProtectedError
from django.test.utils import override_settings
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from imports.services import OPPORTUNITY_COLUMNS, opportunities_import
from imports.services_catalog import products_import
from kpis.models import KPI, Measurement, ScopeRollup
from kpis.rollup import warm
from kpis.services import kpi_update, measurement_clear, measurement_set, rollups_recompute, target_set
from people.models import Certification, CertificationType, Program, ProgramParticipation
from people.services import certification_save, participation_save
from sales.models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay
from sales.services import opportunity_delete, opportunity_save, product_create, product_update
from scorecard.models import Organization
from scorecard.services import organization_create, organization_settings_update
from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import (
    rep_assign,
    rep_hire,
    rep_update,
    territory_add,
    territory_get_or_create_path,
    territory_move,
    territory_rename,
)
from tests.kpis.stored import stored_figures

_orgs = itertools.count()
_names = itertools.count()
PICK = st.integers(0, 1_000)


class _Rollback(Exception):
    pass


def stored_rows(org: Organization) -> dict[tuple, bytes]:
    """Every stored row as (territory, rep, year) → its packed figures."""
    rows = ScopeRollup.objects.filter(org=org).values_list("territory_id", "rep_id", "year", "data")
    return {(t, r, y): bytes(data) for t, r, y, data in rows}


def fresh_figures(org: Organization) -> tuple[dict[tuple, bytes], list[tuple] | None]:
    """What a recompute from scratch stores (in a transaction rolled back afterwards, with no deals kept
    in memory, so the stored rows and this process's warm state stay as the change-driven run left them):
    the packed rows, and every figure when they differ from the stored ones (to say which)."""
    found: list = []
    stored = stored_rows(org)
    try:
        with override_settings(SCORECARD_WARM_ORGS=0), transaction.atomic():
            rollups_recompute(org=org)
            rows = stored_rows(org)
            found = [rows, None if rows == stored else stored_figures(org)]
            raise _Rollback
    except _Rollback:
        pass
    return found[0], found[1]


def _pick(items: list, which: int):
    return items[which % len(items)] if items else None


class WritePaths(RuleBasedStateMachine):
    """One small organisation, written to in every way the product allows."""

    # Set by the test: run the recompute a worker runs after a change (in process, or through Celery).
    run_pending: Callable[[int], object]
    # Inside one test transaction, the organisation is built once and every sequence starts from it
    # (rolled back to a savepoint afterwards); with a real worker, each sequence builds its own.
    reuse_base = False
    _base: tuple[int, str] | None = None  # organisation id, savepoint id

    def __init__(self) -> None:
        super().__init__()
        self.today = timezone.localdate()
        self.start = date(self.today.year - 1, 1, 1)
        self.log: list[str] = []

    def day(self, offset: int) -> date:
        return min(self.start + timedelta(days=offset % 700), self.today)

    # --- the organisation ------------------------------------------------------------------------

    @initialize()
    def start_from_the_base_organisation(self) -> None:
        base = type(self)._base
        if self.reuse_base and base is not None:
            self.org = Organization.objects.get(pk=base[0])
            rollups_recompute(org=self.org)  # a worker that has recomputed it: deals warm
        else:
            self.build()
            if self.reuse_base:
                type(self)._base = (self.org.pk, transaction.savepoint())
        self.check()

    def teardown(self) -> None:
        base = type(self)._base
        if self.reuse_base and base is not None:
            transaction.savepoint_rollback(base[1])
        warm.forget()

    def build(self) -> None:
        org = organization_create(name="Writes", slug=f"writes-{next(_orgs)}", root_name="Acme")
        self.org = org
        for path in ("Acme/North/N1", "Acme/North/N2", "Acme/South/S1"):
            territory_get_or_create_path(org=org, path=path)
        leaves = list(Territory.objects.filter(org=org, numchild=0).order_by("path"))
        reps = [
            rep_hire(
                org=org, name=f"Rep {i}", hire_date=self.start - timedelta(days=30), territory=leaves[i % 3]
            )
            for i in range(4)
        ]
        # A scout identifies deals without owning any (so it can be deleted: deals protect their reps).
        scout = rep_hire(org=org, name="Scout", hire_date=self.start, territory=leaves[0])
        lines = ("Alpha", "Beta", "Alpha")
        products = [
            product_create(org=org, name=f"P{i}", line=line, list_price=Decimal(100 * (i + 1)))
            for i, line in enumerate(lines)
        ]
        deliverables = [Deliverable.objects.create(org=org, name=f"Doc {i}") for i in range(2)]
        partner = Partner.objects.create(org=org, name="Channel Co")
        play = StrategicPlay.objects.create(org=org, name="Land")
        accounts = [Account.objects.create(org=org, external_id=f"A{i}", name=f"A{i}") for i in range(3)]
        for i in range(10):
            engage = self.day(35 * i)
            stage = ("won", "lost", "engaging")[i % 3]
            deal = Opportunity(
                org=org,
                external_id=f"D{i}",
                rep=reps[i % 4],
                account=accounts[i % 3],
                stage=stage,
                engage_date=engage,
                close_date=min(engage + timedelta(days=20 + i), self.today) if stage != "engaging" else None,
                amount=Decimal(1000 + 250 * i),
                channel="partner" if i % 4 == 0 else "direct",
                partner=partner if i % 4 == 0 else None,
                strategic_play=play if i % 3 == 1 else None,
                poc=("none", "success", "failure")[i % 3],
                identified_by=scout if i % 2 else None,
            )
            opportunity_save(
                opportunity=deal,
                products=[products[i % 3], products[(i + 1) % 3]][: 1 + i % 2],
                deliverables=deliverables[: i % 3],
            )
        types = [
            CertificationType.objects.create(org=org, name="Cloud", category="product"),
            CertificationType.objects.create(org=org, name="TOGAF", category="industry"),
        ]
        for i, rep in enumerate(reps):
            certification_save(
                certification=Certification(org=org, rep=rep, type=types[i % 2], earned=self.day(60 * i))
            )
        programmes = [
            Program.objects.create(org=org, name="Grow", kind="diversity"),
            Program.objects.create(org=org, name="Learn", kind="education"),
        ]
        for i, rep in enumerate(reps[:3]):
            participation_save(
                participation=ProgramParticipation(
                    org=org, rep=rep, program=programmes[i % 2], start=self.day(90 * i)
                )
            )
        month = f"{self.start.year}-03"
        target_set(kpi=self.kpi("won_revenue"), period=month, goal=Decimal(5000), territory=leaves[0])
        measurement_set(kpi=self.kpi("nps"), period=month, value=Decimal(40), territory=leaves[1])
        self.run_pending(org.pk)

    def kpi(self, slug: str) -> KPI:
        return KPI.objects.get(org=self.org, slug=slug)

    def deals(self) -> list[Opportunity]:
        return list(Opportunity.objects.filter(org=self.org).order_by("pk"))

    def reps(self) -> list[Rep]:
        return list(Rep.objects.filter(org=self.org).order_by("pk"))

    def leaves(self) -> list[Territory]:
        return list(Territory.objects.filter(org=self.org, numchild=0).exclude(depth=1).order_by("path"))

    def note(self, what: str) -> None:
        self.log.append(what)

    # --- after every step: what a worker runs, then the comparison --------------------------------

    @invariant()
    def stored_equal_a_fresh_recompute(self) -> None:
        if not hasattr(self, "org"):
            return
        self.run_pending(self.org.pk)
        self.check()

    def check(self) -> None:
        self.org.refresh_from_db()
        rows, figures = fresh_figures(self.org)
        if rows == stored_rows(self.org):
            return
        stored = stored_figures(self.org)
        fresh = set(figures or [])
        wrong = [f for f in stored if f not in fresh]
        missing = [f for f in fresh if f not in set(stored)]
        raise AssertionError(
            f"after {self.log}: {len(wrong)} stored figures differ from a fresh recompute and "
            f"{len(missing)} are missing, e.g. stored {wrong[:3]} / fresh {missing[:3]}"
        )

    # --- deals ----------------------------------------------------------------------------------

    @rule(
        which=PICK,
        seed=PICK,
        what=st.sampled_from(
            ["amount", "stage", "close", "rep", "account", "channel", "play", "poc", "identified_by"]
        ),
    )
    def deal_edit(self, which: int, seed: int, what: str) -> None:
        deal = _pick(self.deals(), which)
        if deal is None:
            return
        if what == "amount":
            deal.amount = None if seed % 7 == 0 else Decimal(seed * 13) / 4
        elif what == "stage":
            deal.stage = ("won", "lost", "engaging", "proposal")[seed % 4]
            engaged = deal.engage_date or self.start
            deal.close_date = (
                None
                if deal.stage in ("engaging", "proposal")
                else min(engaged + timedelta(days=seed % 120), self.today)
            )
        elif what == "close" and deal.close_date is not None:
            deal.close_date = max(deal.engage_date or self.start, self.day(seed))
        elif what == "rep":
            deal.rep = _pick([r for r in self.reps() if r.name != "Scout"], seed)
        elif what == "account":
            deal.account = _pick(list(Account.objects.filter(org=self.org)), seed) if seed % 3 else None
        elif what == "channel":
            partner = Partner.objects.filter(org=self.org).first()
            on = seed % 2 == 0 and partner is not None
            deal.channel, deal.partner = ("partner", partner) if on else ("direct", None)
        elif what == "play":
            deal.strategic_play = StrategicPlay.objects.filter(org=self.org).first() if seed % 2 else None
        elif what == "poc":
            deal.poc = ("none", "running", "success", "failure")[seed % 4]
        elif what == "identified_by":
            deal.identified_by = _pick(self.reps(), seed) if seed % 3 else None
        opportunity_save(opportunity=deal)
        self.note(f"deal {what}")

    @rule(seed=PICK)
    def deal_create(self, seed: int) -> None:
        rep = _pick([r for r in self.reps() if r.name != "Scout"], seed)
        engage = self.day(seed)
        deal = Opportunity(
            org=self.org,
            rep=rep,
            stage="won" if seed % 2 else "engaging",
            engage_date=engage,
            close_date=min(engage + timedelta(days=seed % 60), self.today) if seed % 2 else None,
            amount=Decimal(seed) + Decimal("0.25"),
        )
        opportunity_save(opportunity=deal, products=Product.objects.filter(org=self.org)[: seed % 3])
        self.note("deal create")

    @rule(which=PICK)
    def deal_delete(self, which: int) -> None:
        deal = _pick(self.deals(), which)
        if deal is not None:
            opportunity_delete(opportunity=deal)
            self.note("deal delete")

    @rule(which=PICK, products=PICK, deliverables=PICK)
    def deal_links_set(self, which: int, products: int, deliverables: int) -> None:
        deal = _pick(self.deals(), which)
        if deal is None:
            return
        catalog = list(Product.objects.filter(org=self.org).order_by("pk"))
        docs = list(Deliverable.objects.filter(org=self.org).order_by("pk"))
        opportunity_save(
            opportunity=deal,
            products=[p for i, p in enumerate(catalog) if (products >> i) & 1],
            deliverables=[d for i, d in enumerate(docs) if (deliverables >> i) & 1],
        )
        self.note("deal links set")

    @rule(
        which=PICK,
        deal=PICK,
        how=st.sampled_from(["add", "remove", "clear"]),
        side=st.sampled_from(["product", "deliverable"]),
    )
    def links_from_the_catalog_side(self, which: int, deal: int, how: str, side: str) -> None:
        model = Product if side == "product" else Deliverable
        item = _pick(list(model.objects.filter(org=self.org).order_by("pk")), which)
        opp = _pick(self.deals(), deal)
        if item is None or opp is None:
            return
        if how == "clear":
            item.opportunities.clear()
        else:
            getattr(item.opportunities, how)(opp)
        self.note(f"{side}.opportunities.{how}")

    # --- the catalog ------------------------------------------------------------------------------

    @rule(which=PICK)
    def deliverable_delete(self, which: int) -> None:
        doc = _pick(list(Deliverable.objects.filter(org=self.org).order_by("pk")), which)
        if doc is not None:
            doc.delete()
            self.note("deliverable delete")

    @rule()
    def deliverable_create(self) -> None:
        Deliverable.objects.create(org=self.org, name=f"Doc n{next(_names)}")
        self.note("deliverable create")

    @rule(which=PICK, seed=PICK)
    def product_change(self, which: int, seed: int) -> None:
        product = _pick(list(Product.objects.filter(org=self.org).order_by("pk")), which)
        if product is None:
            return
        product_update(
            product=product,
            name=product.name,
            line=("Alpha", "Beta", "Gamma")[seed % 3],
            list_price=None if seed % 5 == 0 else Decimal(seed),
        )
        self.note("product change")

    @rule(which=PICK)
    def product_delete(self, which: int) -> None:
        product = _pick(list(Product.objects.filter(org=self.org).order_by("pk")), which)
        if product is not None:
            product.delete()
            self.note("product delete")

    @rule(seed=PICK)
    def product_create(self, seed: int) -> None:
        product_create(org=self.org, name=f"P n{next(_names)}", line=("Alpha", "Delta")[seed % 2])
        self.note("product create")

    @rule(what=st.sampled_from([Partner, StrategicPlay, Account]))
    def unused_catalog_entry_delete(self, what) -> None:
        """Partners, plays and accounts of deals are protected; one without deals goes."""
        entry = what.objects.filter(org=self.org).order_by("pk").last()
        if entry is None:
            return
        try:
            with transaction.atomic():
                entry.delete()
            self.note(f"{what.__name__} delete")
        except ProtectedError:
            self.note(f"{what.__name__} delete refused")

    @rule(which=PICK)
    def certification_type_category(self, which: int) -> None:
        kind = _pick(list(CertificationType.objects.filter(org=self.org).order_by("pk")), which)
        if kind is not None:
            kind.category = "industry" if kind.category == "product" else "product"
            kind.save()
            self.note("certification type category")

    @rule(which=PICK)
    def programme_kind(self, which: int) -> None:
        programme = _pick(list(Program.objects.filter(org=self.org).order_by("pk")), which)
        if programme is not None:
            programme.kind = "education" if programme.kind == "diversity" else "diversity"
            programme.save()
            self.note("programme kind")

    @rule(rep=PICK, seed=PICK)
    def certification_add(self, rep: int, seed: int) -> None:
        kind = _pick(list(CertificationType.objects.filter(org=self.org)), seed)
        holder = _pick(self.reps(), rep)
        earned = self.day(seed)
        if kind is None or Certification.objects.filter(rep=holder, type=kind, earned=earned).exists():
            return
        certification_save(certification=Certification(org=self.org, rep=holder, type=kind, earned=earned))
        self.note("certification add")

    @rule(which=PICK)
    def certification_delete(self, which: int) -> None:
        cert = _pick(list(Certification.objects.filter(org=self.org).order_by("pk")), which)
        if cert is not None:
            cert.delete()
            self.note("certification delete")

    @rule(rep=PICK, seed=PICK)
    def participation_add(self, rep: int, seed: int) -> None:
        programme = _pick(list(Program.objects.filter(org=self.org)), seed)
        member = _pick(self.reps(), rep)
        start = self.day(seed)
        if (
            programme is None
            or ProgramParticipation.objects.filter(rep=member, program=programme, start=start).exists()
        ):
            return
        participation_save(
            participation=ProgramParticipation(org=self.org, rep=member, program=programme, start=start)
        )
        self.note("participation add")

    # --- reps and the tree ------------------------------------------------------------------------

    @rule(seed=PICK)
    def rep_hire(self, seed: int) -> None:
        rep_hire(
            org=self.org,
            name=f"New {next(_names)}",
            hire_date=self.day(seed),
            territory=_pick(self.leaves(), seed) if seed % 4 else None,
        )
        self.note("rep hire")

    @rule(which=PICK, seed=PICK, what=st.sampled_from(["hire", "leave", "rejoin"]))
    def rep_dates(self, which: int, seed: int, what: str) -> None:
        rep = _pick(self.reps(), which)
        first = TerritoryAssignment.objects.filter(rep=rep).order_by("start").first()
        last = TerritoryAssignment.objects.filter(rep=rep).order_by("start").last()
        hire, leave = rep.hire_date, rep.leave_date
        if what == "hire":
            hire = None if seed % 5 == 0 else self.start - timedelta(days=seed % 90)
            if first is not None and hire is not None and hire > first.start:
                hire = first.start
        elif what == "leave":
            leave = max(self.day(seed), last.start if last else self.start, hire or self.start)
        else:
            leave = None
        rep_update(rep=rep, name=rep.name, email=rep.email, hire_date=hire, leave_date=leave)
        self.note(f"rep {what}")

    @rule(which=PICK, where=PICK, seed=PICK)
    def rep_move(self, which: int, where: int, seed: int) -> None:
        rep = _pick(self.reps(), which)
        last = TerritoryAssignment.objects.filter(rep=rep).order_by("start").last()
        start = self.day(seed)
        if last is not None and start <= last.start:
            start = last.start + timedelta(days=1)
        if (rep.leave_date and start > rep.leave_date) or (rep.hire_date and start < rep.hire_date):
            return
        territory = _pick(self.leaves(), where)
        if last is not None and last.territory_id == territory.pk and (last.end is None or last.end >= start):
            return
        if territory.retired_on is not None:
            return
        rep_assign(rep=rep, territory=territory, start=start)
        self.note("rep move")

    @rule()
    def rep_delete(self) -> None:
        """Deals protect their reps: a rep with none (the scout, a new hire) can go, and the deals it
        identified lose it (SET NULL), its assignments, certifications and targets with it."""
        rep = Rep.objects.filter(org=self.org, opportunities__isnull=True).order_by("pk").first()
        if rep is not None:
            rep.delete()
            self.note("rep delete")

    @rule(which=PICK)
    def territory_add(self, which: int) -> None:
        parent = _pick(list(Territory.objects.filter(org=self.org, depth__lte=2).order_by("path")), which)
        territory_add(parent=parent, name=f"New {next(_names)}")
        self.note("territory add")

    @rule(which=PICK, where=PICK)
    def territory_move(self, which: int, where: int) -> None:
        node = _pick(list(Territory.objects.filter(org=self.org, depth__gt=1).order_by("path")), which)
        target = _pick(list(Territory.objects.filter(org=self.org).order_by("path")), where)
        if node is None or target.pk == node.pk or target.is_descendant_of(node):
            return
        territory_move(territory=node, target=target, position="sorted-child")
        self.note("territory move")

    @rule(which=PICK)
    def territory_rename(self, which: int) -> None:
        node = _pick(list(Territory.objects.filter(org=self.org, depth__gt=1).order_by("path")), which)
        if node is not None:
            territory_rename(territory=node, name=f"Renamed {next(_names)}")
            self.note("territory rename")

    @rule()
    def territory_delete(self) -> None:
        """An empty leaf (nothing assigned or credited to it) can go, with its targets."""
        node = (
            Territory.objects.filter(org=self.org, numchild=0, depth__gt=1)
            .filter(assignments__isnull=True, credited_opportunities__isnull=True)
            .order_by("path")
            .first()
        )
        if node is not None:
            Territory.objects.get(pk=node.pk).delete()
            self.note("territory delete")

    # --- scorecard definitions and inputs ---------------------------------------------------------

    @rule(
        slug=st.sampled_from(
            ["won_revenue", "deliverables_in_wins", "product_certified_reps", "identification_participation"]
        )
    )
    def kpi_toggle(self, slug: str) -> None:
        kpi = KPI.objects.filter(org=self.org, slug=slug).first()
        if kpi is not None:
            kpi_update(kpi=kpi, active=not kpi.active)
            self.note(f"kpi {slug} toggled")

    @rule(which=PICK, seed=PICK, rep=st.booleans())
    def target_set(self, which: int, seed: int, rep: bool) -> None:
        day = self.day(seed)
        scope = {"rep": _pick(self.reps(), which)} if rep else {"territory": _pick(self.leaves(), which)}
        target_set(
            kpi=self.kpi("won_revenue"), period=f"{day.year}-{day.month:02d}", goal=Decimal(seed), **scope
        )
        self.note("target set")

    @rule(which=PICK, seed=PICK)
    def measurement_set(self, which: int, seed: int) -> None:
        day = self.day(seed)
        measurement_set(
            kpi=self.kpi("nps"),
            period=f"{day.year}-{day.month:02d}",
            value=Decimal(seed % 100),
            territory=_pick(self.leaves(), which),
        )
        self.note("measurement set")

    @rule(which=PICK)
    def measurement_clear(self, which: int) -> None:
        entry = _pick(list(Measurement.objects.filter(org=self.org).order_by("pk")), which)
        if entry is not None:
            measurement_clear(kpi=entry.kpi, period=entry.period, territory=entry.territory, rep=entry.rep)
            self.note("measurement clear")

    @rule(month=st.sampled_from([1, 4, 7]))
    def fiscal_year_change(self, month: int) -> None:
        org = Organization.objects.get(pk=self.org.pk)
        organization_settings_update(
            org=org, name=org.name, currency=org.currency, fiscal_year_start_month=month
        )
        self.note(f"fiscal year from month {month}")

    # --- imports ----------------------------------------------------------------------------------

    @rule(seed=PICK)
    def import_products(self, seed: int) -> None:
        product = Product.objects.filter(org=self.org).order_by("pk").first()
        if product is None:
            return
        rows = [["product", "line", "list_price"], [product.name, ("Alpha", "Omega")[seed % 2], str(seed)]]
        products_import(org_slug=self.org.slug, path=_csv(rows))
        self.note("import products")

    @rule(which=PICK, seed=PICK)
    def import_opportunity(self, which: int, seed: int) -> None:
        deal = _pick(self.deals(), which)
        if deal is None:
            return
        docs = [d.name for d in Deliverable.objects.filter(org=self.org)]
        rows = [
            list(OPPORTUNITY_COLUMNS),
            [
                deal.external_id,
                deal.rep.name if deal.rep else "",
                deal.account.external_id if deal.account else "",
                ";".join(p.name for p in deal.products.all()),
                deal.stage,
                "",
                deal.engage_date.isoformat() if deal.engage_date else "",
                deal.close_date.isoformat() if deal.close_date else "",
                str(seed * 3),
                "",
                "direct",
                "",
                "",
                deal.poc,
                ";".join(docs[: seed % (len(docs) + 1)]),
                "",
            ],
        ]
        opportunities_import(org_slug=self.org.slug, path=_csv(rows))
        self.note("import opportunity")


def _csv(rows: list[list[str]]) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return Path(handle.name)
