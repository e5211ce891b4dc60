from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kpis.models import KPI
from sales.models import Opportunity, Product
from scorecard.services import organization_create
from territories.models import Rep
from territories.services import assignment_create, territory_get_or_create_path
from tests.kpis.reference import Engine


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

    def deal(self, rep, stage, *, engage=None, close=None, amount=None, products=(), **fields) -> Opportunity:
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
        return opp

    def product(self, name: str, line: str, price=None) -> Product:
        return Product.objects.create(org=self.org, name=name, line=line, list_price=price)

    def kpi(self, slug: str) -> KPI:
        return KPI.objects.get(org=self.org, slug=slug)

    def engine(self, today: date = date(2030, 1, 1)) -> Engine:
        return Engine(self.org, today=today)


@pytest.fixture
def build(db):
    return OrgBuilder


@pytest.fixture(autouse=True)
def _no_auto_recompute(settings):
    """Engine tests read values directly; tests of the recompute path switch it back on."""
    settings.SCORECARD_AUTO_RECOMPUTE = False
