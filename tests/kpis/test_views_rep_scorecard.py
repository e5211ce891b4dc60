"""A rep's scorecard (``/`` for a rep, ``/?rep=ID`` for managers, viewers and admins): quota attainment,
certifications with their expiry, the open pipeline, and the notes panels on the scorecard pages.

Personas (tests/conftest_personas.py): Nora (Acme/Nordics/Stockholm, user "nora") won one 2,000 deal
on 2024-03-01; Sergio (Acme/Iberia/Madrid) the same; Manny manages Nordics. The deals below are
written once as plain tuples, and the expected figures are worked out from those tuples in the test.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis import selectors_rep
from kpis.models import KPI, Note, NoteKind
from kpis.selectors import report_rows
from kpis.services import note_create, rollups_recompute, target_set
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


# --- a rep's home ----------------------------------------------------------------------------------------


def test_a_reps_home_is_their_own_scorecard_with_the_stored_quota_attainment(rep_world, login):
    response = login("rep").get("/", {"period": PERIOD})
    html = _html(response)
    assert "kpis/scorecard.html" in [t.name for t in response.templates]
    assert '<h1 class="page-title">Nora Nordin</h1>' in html
    nora = rep_world.reps["nora"]
    won_revenue = KPI.objects.filter(org=rep_world.org, slug="won_revenue").select_related(
        "objective__perspective"
    )
    (row,) = report_rows(rep_world.org, PERIOD, [nora], list(won_revenue))  # what kpi_report prints
    assert (row["actual"], row["goal"]) == (2000.0, 5000.0)  # her one won deal; the target set above
    assert _testid(html, "quota-won") == "$2,000"
    assert _testid(html, "quota-goal") == "$5,000"
    assert _testid(html, "quota-attainment") == "40%"
    assert _testid(html, "quota-remaining") == "$3,000"
    # The rest of her card: the open pipeline and the definitions page, linked.
    assert _testid(html, "pipeline-count") == "7"
    assert _testid(html, "pipeline-value") == "$19,000"
    assert 'href="/definitions/"' in html
    for hidden in (
        "Sergio Sanz",
        "Iberia",
        "SERGIO-OPEN",
        'id="territory-picker"',
        'aria-label="Breadcrumb"',
    ):
        assert hidden not in html


def test_a_rep_sees_no_other_scorecard(rep_world, login):
    client = login("rep")
    assert client.get("/", {"rep": rep_world.reps["nora"].pk}).status_code == 200
    assert client.get("/", {"rep": rep_world.reps["sergio"].pk}).status_code == 404
    assert client.get("/", {"rep": rep_world.reps["gus"].pk}).status_code == 404
    # Not even the territory the rep works in: a rep's scorecard is their own.
    assert client.get("/", {"territory": rep_world.territories["stockholm"].pk}).status_code == 404
    assert client.get("/definitions/").status_code == 200


def test_without_a_quota_the_card_says_so_and_shows_what_was_won(rep_world, login):
    html = _html(login("admin").get("/", {"period": PERIOD, "rep": rep_world.reps["sergio"].pk}))
    quota = _section(html, "rep-quota-title")
    assert "No quota set for 2024-Q1" in quota and _testid(quota, "quota-won") == "$2,000"
    assert 'data-testid="quota-attainment"' not in quota


def test_a_manager_sees_the_reps_pipeline_largest_first_linking_to_the_kpi_rows(rep_world, login):
    nora = rep_world.reps["nora"]
    html = _html(login("manager").get("/", {"period": PERIOD, "rep": nora.pk}))
    pipeline = _section(html, "rep-pipeline-title")
    listed = re.findall(r'data-deal="([^"]+)"', pipeline)
    assert listed == [ref for ref, _value in _open_at(Q1_END)[:5]]
    assert listed == ["BIG", "MID", "PRICED", "SMALL-4", "SMALL-3"]
    detail = f'href="/kpi/open_pipeline_value/?period={PERIOD}&amp;rep={nora.pk}#rows"'
    assert pipeline.count(detail) == 6  # each deal, and "All 7 open deals"
    assert "All 7 open deals" in pipeline
    assert "Open at the end of 2024-Q1" in pipeline


def test_certifications_are_listed_soonest_expiry_first_on_the_page(world, login):
    today = timezone.localdate()
    _certifications(world, today)
    html = _html(login("manager").get("/", {"rep": world.reps["nora"].pk}))
    certs = _section(html, "rep-certs-title")
    assert re.findall(r'data-testid="cert-status">([^<]*)<', certs) == [
        "expires in 23 days",
        "expires in 400 days",
        "does not expire",
        "expired",
        "expired, renewed",
    ]
    assert (today + timedelta(23)).strftime("%-d %b %Y") in certs


# --- the notes panels ------------------------------------------------------------------------------------


def test_a_manager_adds_a_coaching_note_and_ticks_an_action_item_off_on_the_rep_page(rep_world, login):
    nora = rep_world.reps["nora"]
    client = login("manager")
    page = f"/?period={PERIOD}&rep={nora.pk}"
    html = _html(client.get(page))
    panel = _section(html, "notes-title")
    assert "Add a coaching note or action item" in panel
    assert f'name="next" value="/?period={PERIOD}&amp;rep={nora.pk}"' in panel
    # Without JavaScript: a plain form post, then back to the rep's page.
    form = {"period": PERIOD, "rep": nora.pk, "next": page}
    response = client.post(
        reverse("notes"),
        {
            **form,
            "kind": "action",
            "text": "Book two POCs",
            "about": "kpi:win_rate",
            "owner": rep_world.users["rep"].pk,
        },
    )
    assert response.status_code == 302 and response["Location"] == f"{page}#notes-panel"
    action = Note.objects.get(org=rep_world.org, text="Book two POCs")
    assert (action.kind, action.rep, action.kpi.slug, action.owner) == (
        "action",
        nora,
        "win_rate",
        rep_world.users["rep"],
    )
    # With htmx the panel comes back on its own.
    response = client.post(
        reverse("note_done", args=[action.pk]), {**form, "done": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "<html" not in response.content.decode()
    action.refresh_from_db()
    assert action.done
    panel = _section(_html(client.get(page)), "notes-title")
    assert "Book two POCs" in panel and "Owner: Nora Nordin" in panel and ">done<" in panel


def test_the_rep_reads_the_notes_on_them_and_a_viewer_reads_without_a_form(rep_world, login):
    nora = rep_world.reps["nora"]
    note_create(
        membership=_member(rep_world, "manager"),
        kind=NoteKind.COACHING,
        period=PERIOD,
        text="Multi-thread",
        rep=nora,
    )
    own = _section(_html(login("rep").get("/", {"period": PERIOD})), "notes-title")
    assert "Multi-thread" in own and "Add note" not in own
    viewer = login("viewer")
    seen = _section(_html(viewer.get("/", {"period": PERIOD, "rep": nora.pk})), "notes-title")
    assert "Multi-thread" in seen and "<form" not in seen
    refused = viewer.post(
        reverse("notes"), {"period": PERIOD, "rep": nora.pk, "kind": "coaching", "text": "x"}
    )
    assert refused.status_code == 403
    assert (
        login("rep")
        .post(reverse("notes"), {"period": PERIOD, "rep": nora.pk, "kind": "coaching", "text": "x"})
        .status_code
        == 403
    )


def _comment(world, territory: str, text: str, kpi: str = "win_rate") -> Note:
    return note_create(
        membership=_member(world, "admin"),
        kind=NoteKind.COMMENT,
        period=PERIOD,
        text=text,
        territory=world.territories[territory],
        kpi=KPI.objects.get(org=world.org, slug=kpi),
    )


def test_review_comments_on_a_territory_reach_its_managers_not_another_regions(rep_world, login):
    _comment(rep_world, "stockholm", "Stockholm closes late")
    _comment(rep_world, "madrid", "Madrid discounts too much")
    stockholm = {"period": PERIOD, "territory": rep_world.territories["stockholm"].pk}
    madrid = {"period": PERIOD, "territory": rep_world.territories["madrid"].pk}
    manager = login("manager")
    panel = _section(_html(manager.get("/", stockholm)), "notes-title")
    assert "Review comments" in panel and "Stockholm closes late" in panel
    assert 'name="about" required' in panel and "Objective: " in panel  # a KPI or an objective
    nordics = _html(manager.get("/", {"period": PERIOD}))  # the region's own comments only
    assert "Stockholm closes late" not in nordics and "Madrid discounts too much" not in nordics
    assert manager.get("/", madrid).status_code == 404
    assert manager.get(reverse("notes"), madrid).status_code == 404
    viewer = _html(login("viewer").get("/", madrid))
    assert "Madrid discounts too much" in _section(viewer, "notes-title")


# --- query count -----------------------------------------------------------------------------------------


def _grow(world, numbers: range) -> None:
    """More certifications, open deals and notes for Nora, one of each per number."""
    nora, admin = world.reps["nora"], _member(world, "admin")
    for i in numbers:
        kind = CertificationType.objects.create(
            org=world.org, name=f"Grown {i}", category=CertificationCategory.PRODUCT
        )
        Certification.objects.create(
            org=world.org, rep=nora, type=kind, earned=date(2023, 1, 1), expires=date(2030, 1, 1)
        )
        OpportunityFactory.create(
            rep=nora, external_id=f"GROWN-{i}", engage_date=date(2024, 1, 3), amount=50 + i
        )
        note_create(
            membership=admin,
            kind=NoteKind.ACTION,
            period=PERIOD,
            text=f"grown {i}",
            rep=nora,
            owner=world.users["manager"],
        )


@pytest.mark.parametrize("persona", ["admin", "manager", "viewer", "rep"])
def test_a_reps_scorecard_runs_a_constant_number_of_queries(
    rep_world, login, persona, django_assert_max_num_queries
):
    _certifications(rep_world, timezone.localdate())
    _grow(rep_world, range(2))
    client = login(persona)
    query = {"period": PERIOD, "rep": rep_world.reps["nora"].pk}
    client.get("/", query)  # warm the session
    with django_assert_max_num_queries(15) as small:
        assert client.get("/", query).status_code == 200
    _grow(rep_world, range(2, 10))
    with django_assert_max_num_queries(len(small)):
        html = _html(client.get("/", query))
    assert "grown 7" in html and "Grown 7" in html
