from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kpis.models import KPI
from perspectives.models import Objective
from sales.models import Account, Opportunity, Product
from scorecard.services import organization_create
from territories.models import Rep
from territories.services import assignment_create, territory_get_or_create_path
from tests.kpis.implementations import IMPLEMENTATIONS, ReferenceEngine


class OrgBuilder:
    """A small organisation built in a few lines, for exact expectations computed by hand."""

    def __init__(self, slug: str = "acme", fiscal_year_start_month: int = 1) -> None:
        self.org = organization_create(
            name="Acme", slug=slug, fiscal_year_start_month=fiscal_year_start_month
        )
        self._deal = 0

    def territory(self, path: str):
        return territory_get_or_create_path(org=self.org, path=path)

    def rep(self, name: str, *moves: tuple[str, date, date | None], hire=None, leave=None) -> Rep:
        rep = Rep.objects.create(org=self.org, name=name, hire_date=hire, leave_date=leave)
        for path, start, end in moves:
            assignment_create(rep=rep, territory=self.territory(path), start=start, end=end)
        return rep

    def deal(
        self, rep, stage, *, engage=None, close=None, amount=None, products=(), deliverables=(), **fields
    ) -> Opportunity:
        self._deal += 1
        opp = Opportunity.objects.create(
            org=self.org,
            external_id=f"D{self._deal}",
            rep=rep,
            stage=stage,
            engage_date=engage,
            close_date=close,
            amount=None if amount is None else Decimal(str(amount)),
            **fields,
        )
        if products:
            opp.products.set(products)
        if deliverables:
            opp.deliverables.set(deliverables)
        return opp

    def account(self, name: str) -> Account:
        return Account.objects.create(org=self.org, external_id=name, name=name)

    def product(self, name: str, line: str, price=None) -> Product:
        return Product.objects.create(org=self.org, name=name, line=line, list_price=price)

    def kpi(self, slug: str) -> KPI:
        return KPI.objects.get(org=self.org, slug=slug)

    def metric_kpi(self, slug: str, metric: str, metric_filter: dict | None = None, unit="fraction") -> KPI:
        """A KPI the default template does not ship (a catalog metric, or one with another filter)."""
        return KPI.objects.create(
            org=self.org,
            objective=Objective.objects.filter(org=self.org).earliest("pk"),
            slug=slug,
            name=slug,
            unit=unit,
            source="metric",
            metric=metric,
            metric_filter=metric_filter or {},
            weight=0,
        )

    def engine(self, today: date = date(2030, 1, 1)) -> ReferenceEngine:
        return ReferenceEngine(self.org, today=today)


@pytest.fixture
def build(db):
    return OrgBuilder


@pytest.fixture(params=list(IMPLEMENTATIONS))
def figures(request, db):
    """One implementation of the KPIs, each case running once per implementation: call it with an
    organisation (and optionally ``today``) once the case's data is in, again after changing it."""
    return IMPLEMENTATIONS[request.param]


@pytest.fixture(autouse=True)
def _no_auto_recompute(settings):
    """Engine tests read values directly; tests of the recompute path switch it back on."""
    settings.SCORECARD_AUTO_RECOMPUTE = False
