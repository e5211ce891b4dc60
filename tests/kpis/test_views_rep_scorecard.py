"""A rep's scorecard: quota attainment, certifications with their expiry, the open pipeline.

Personas (tests/conftest_personas.py): Nora (Acme/Nordics/Stockholm, user "nora") won one 2,000 deal
on 2024-03-01; Sergio (Acme/Iberia/Madrid) the same; Manny manages Nordics. The deals below are
written once as plain tuples, and the expected figures are worked out from those tuples in the test.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from kpis import selectors_rep
from kpis.models import KPI
from kpis.selectors import report_rows
from kpis.services import rollups_recompute, target_set
from people.models import Certification, CertificationCategory, CertificationType
from sales.models import Product, Stage
from scorecard.models import Membership
from tests.factories import OpportunityFactory

pytest_plugins = ["tests.conftest_personas"]

PERIOD = "2024-Q1"
Q1_END = date(2024, 3, 31)
COMPUTED_ON = date(2024, 6, 30)

# (external id, engaged, amount, list prices of its products, closed as, closed on)
NORA_DEALS = [
    ("BIG", date(2024, 3, 15), Decimal(12000), [], Stage.WON, date(2024, 4, 10)),  # won after Q1
    ("MID", date(2024, 1, 10), Decimal(5000), [], None, None),
    ("PRICED", date(2024, 2, 1), None, [Decimal(700), Decimal(300)], None, None),  # valued at list price
    ("LOST", date(2024, 2, 20), Decimal(3000), [], Stage.LOST, date(2024, 3, 20)),  # closed in Q1
    ("LATE", date(2024, 4, 2), Decimal(9000), [], None, None),  # engaged after Q1
    *((f"SMALL-{n}", date(2024, 1, 5), Decimal(100 * n), [], None, None) for n in range(1, 5)),
]


def _open_at(day: date) -> list[tuple[str, Decimal]]:
    """Nora's deals open at ``day`` by DESIGN §4 (engaged by then, not closed by then), with their value
    (amount, else the list prices), largest first."""
    rows = [
        (ref, amount if amount is not None else sum(prices, Decimal(0)))
        for ref, engaged, amount, prices, closed_as, closed_on in NORA_DEALS
        if engaged <= day and not (closed_on is not None and closed_on <= day)
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _member(world, persona: str) -> Membership:
    return Membership.objects.get(user=world.users[persona], org=world.org)


@pytest.fixture
def rep_world(world):
    nora = world.reps["nora"]
    for ref, engaged, amount, prices, closed_as, closed_on in NORA_DEALS:
        deal = OpportunityFactory.create(
            rep=nora,
            external_id=ref,
            engage_date=engaged,
            amount=amount,
            stage=closed_as or Stage.PROPOSAL,
            close_date=closed_on,
        )
        for i, price in enumerate(prices):
            deal.products.add(
                Product.objects.create(org=world.org, name=f"{ref} {i}", line="Line", list_price=price)
            )
    OpportunityFactory.create(
        rep=world.reps["sergio"], external_id="SERGIO-OPEN", engage_date=date(2024, 1, 2), amount=99999
    )
    won_revenue = KPI.objects.get(org=world.org, slug="won_revenue")
    target_set(kpi=won_revenue, period=PERIOD, goal=5000, rep=nora)
    rollups_recompute(org=world.org, today=COMPUTED_ON)
    return world


def _certify(world, name: str, category: str, earned: date, expires: date | None) -> Certification:
    kind, _ = CertificationType.objects.get_or_create(
        org=world.org, name=name, defaults={"category": category, "issuer": "Issuer"}
    )
    return Certification.objects.create(
        org=world.org, rep=world.reps["nora"], type=kind, earned=earned, expires=expires
    )


def _certifications(world, today: date) -> None:
    """Five certifications: renewed, expiring soon, valid long, never expiring, lapsed."""
    t = timedelta
    _certify(world, "Cloud Seller", CertificationCategory.PRODUCT, today - t(700), today - t(35))
    _certify(world, "Cloud Seller", CertificationCategory.PRODUCT, today - t(40), today + t(23))
    _certify(world, "TOGAF", CertificationCategory.INDUSTRY, today - t(100), today + t(400))
    _certify(world, "LOMA", CertificationCategory.CUSTOMER_INDUSTRY, today - t(500), None)
    _certify(world, "ASQ", CertificationCategory.CUSTOMER_INDUSTRY, today - t(900), today - t(10))


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _testid(html: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]*)<', html)
    assert found, f"nothing marked {name}"
    return found.group(1)


def _section(html: str, title_id: str) -> str:
    start = html.index(f'id="{title_id}"')
    return html[start : html.index("</section>", start)]


# --- the reads -----------------------------------------------------------------------------------------


def test_certifications_valid_soonest_first_then_lasting_then_expired_with_their_words(world):
    today = date(2025, 6, 1)
    _certifications(world, today)
    lines = selectors_rep.certifications(world.reps["nora"], today=today)
    assert [(line.certification.type.name, line.status) for line in lines] == [
        ("Cloud Seller", "expires in 23 days"),
        ("TOGAF", "expires in 400 days"),
        ("LOMA", "does not expire"),
        ("ASQ", "expired"),
        ("Cloud Seller", "expired, renewed"),  # earned again since: nothing to chase
    ]
    assert [line.tone for line in lines] == ["soon", "valid", "valid", "expired", "renewed"]
    assert selectors_rep.certifications(world.reps["sergio"], today=today) == []


def test_expiry_words_at_the_edges(world):
    today = date(2025, 6, 1)
    for days in (0, 1, -1):
        _certify(
            world,
            f"Edge {days}",
            CertificationCategory.PRODUCT,
            today - timedelta(30),
            today + timedelta(days),
        )
    words = {
        line.certification.type.name: line.status
        for line in selectors_rep.certifications(world.reps["nora"], today=today)
    }
    assert words == {"Edge 0": "expires today", "Edge 1": "expires tomorrow", "Edge -1": "expired"}


@pytest.mark.parametrize("day", [Q1_END, date(2024, 2, 15), date(2024, 4, 30)])
def test_open_pipeline_counts_and_values_the_deals_open_that_day(rep_world, day):
    period = rep_world.org.parse_period("2024-Q1" if day <= Q1_END else "2024-Q2")
    pipeline = selectors_rep.open_pipeline(rep_world.org, rep_world.reps["nora"], period, today=day)
    expected = _open_at(min(day, period.end))
    assert pipeline.count == len(expected)
    assert pipeline.value == sum((value for _ref, value in expected), Decimal(0))
    assert [(d.deal.external_id, d.value) for d in pipeline.largest] == expected[:5]
    assert pipeline.as_of == min(day, period.end)


def test_the_open_pipeline_agrees_with_the_stored_figures(rep_world):
    nora = rep_world.reps["nora"]
    kpis = list(
        KPI.objects.filter(org=rep_world.org, slug__in=["open_pipeline_count", "open_pipeline_value"])
    )
    stored = {row["kpi"]: row["actual"] for row in report_rows(rep_world.org, PERIOD, [nora], kpis)}
    pipeline = selectors_rep.open_pipeline(
        rep_world.org, nora, rep_world.org.parse_period(PERIOD), today=COMPUTED_ON
    )
    assert stored == {"open_pipeline_count": pipeline.count, "open_pipeline_value": float(pipeline.value)}
    assert stored["open_pipeline_count"] == 7  # MID, PRICED, BIG and four small ones
