"""Deal entry (/sales/opportunities/): a rep lists, adds, edits and deletes their own deals, inline with
htmx or as plain pages; every input error is reported beside its field and nothing is stored; a locked
period is refused with the lock named; managers change their subtree's deals, viewers only read, and
everything of another rep or organisation is 404."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.models import DealChange, RecomputeRequest
from sales.models import Account, Deliverable, Opportunity, Partner, Product, Stage, StrategicPlay
from scorecard.services import period_lock

pytest_plugins = ["tests.conftest_personas"]

LIST = reverse("sales:opportunity_list")
CREATE = reverse("sales:opportunity_create")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": f"http://testserver{LIST}"}


def edit_url(deal: Opportunity) -> str:
    return reverse("sales:opportunity_edit", args=[deal.pk])


def delete_url(deal: Opportunity) -> str:
    return reverse("sales:opportunity_delete", args=[deal.pk])


@pytest.fixture
def catalog(world):
    org = world.org
    return {
        "gx": Product.objects.create(org=org, name="GX Router", line="Networking", list_price=500),
        "cloud": Product.objects.create(org=org, name="Cloud Suite", line="Software"),
        "arch": Deliverable.objects.create(org=org, name="Architecture overview"),
        "partner": Partner.objects.create(org=org, name="Nordic Channel AB"),
        "play": StrategicPlay.objects.create(org=org, name="Cloud migration"),
        "account": Account.objects.create(org=org, external_id="ACC-1", name="Fjord Bank"),
        "foreign": Product.objects.create(org=world.other_org, name="Globex Widget", line="Widgets"),
    }


def deal_data(catalog, **changes) -> dict:
    data = {
        "external_id": "",
        "account": catalog["account"].pk,
        "stage": "proposal",
        "created_date": "2024-04-02",
        "engage_date": "2024-04-10",
        "close_date": "2024-09-30",
        "amount": "12500.50",
        "profit": "-200",
        "products": [catalog["gx"].pk, catalog["cloud"].pk],
        "channel": "partner",
        "partner": catalog["partner"].pk,
        "strategic_play": catalog["play"].pk,
        "poc": "success",
        "deliverables": [catalog["arch"].pk],
        "identified_by": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- list -----------------------------------------------------------------------------------------


def test_a_rep_lists_their_own_deals_only(world, login):
    page = login("rep").get(LIST).content.decode()
    assert "NORA-0" in page and "NORA-1" in page
    assert "SERGIO" not in page and "GUS" not in page
    assert 'href="/sales/opportunities/new/"' in page


def test_a_rep_asking_for_another_reps_deals_gets_404(world, login):
    client = login("rep")
    assert client.get(LIST, {"rep": world.reps["sergio"].pk}).status_code == 404


def test_a_manager_lists_the_subtree_and_filters_by_rep(world, login):
    client = login("manager")
    page = client.get(LIST).content.decode()
    assert "NORA-0" in page and "SERGIO" not in page
    filtered = client.get(LIST, {"rep": world.reps["nora"].pk}).content.decode()
    assert "Deals of Nora Nordin" in filtered and "NORA-1" in filtered
    assert client.get(LIST, {"rep": world.reps["sergio"].pk}).status_code == 404


def test_a_viewer_reads_every_deal_without_edit_links(world, login):
    page = login("viewer").get(LIST).content.decode()
    assert "NORA-0" in page and "SERGIO-2" in page and "GUS" not in page
    assert CREATE not in page and edit_url(world.opportunities["nora"]) not in page


def test_the_list_is_paginated_and_a_page_comes_back_as_a_fragment_with_htmx(world, login):
    nora = world.reps["nora"]
    Opportunity.objects.bulk_create(
        Opportunity(org=world.org, rep=nora, external_id=f"BULK-{i:02}", stage=Stage.PROSPECTING)
        for i in range(30)
    )
    client = login("rep")
    first = client.get(LIST).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(LIST, {"page": 2}, **HTMX)
    body = second.content.decode()
    assert "<html" not in body and 'id="entry-list"' in body and "Page 2 of 2" in body
    assert body.count("<tr>") == 1 + 32 - 25  # the header row and the last 7 deals


def test_the_list_pages_read_a_bounded_number_of_queries(
    world, login, catalog, django_assert_max_num_queries
):
    nora, sergio = world.reps["nora"], world.reps["sergio"]
    deals = Opportunity.objects.bulk_create(
        Opportunity(
            org=world.org,
            rep=nora if i % 2 else sergio,
            account=catalog["account"],
            external_id=f"MANY-{i:03}",
            stage=Stage.PROPOSAL,
            amount=Decimal(i),
        )
        for i in range(120)
    )
    Opportunity.products.through.objects.bulk_create(
        Opportunity.products.through(opportunity_id=d.pk, product_id=catalog["gx"].pk) for d in deals
    )
    for persona in ("rep", "manager", "viewer", "admin"):
        client = login(persona)
        with django_assert_max_num_queries(15):
            assert client.get(LIST).status_code == 200
        with django_assert_max_num_queries(15):
            assert client.get(LIST, {"page": 3}, **HTMX).status_code == 200


# --- create and edit ------------------------------------------------------------------------------


def test_a_rep_adds_a_deal_with_its_catalog_choices_as_a_plain_form(world, login, catalog):
    client = login("rep")
    form = client.get(CREATE).content.decode()
    assert "GX Router (Networking)" in form and "Globex Widget" not in form
    assert 'type="date"' in form and "<label" in form
    response = client.post(CREATE, deal_data(catalog, external_id="CRM-77"))
    assert response.status_code == 302 and response["Location"] == LIST
    deal = Opportunity.objects.get(org=world.org, external_id="CRM-77")
    assert deal.rep == world.reps["nora"]
    assert (deal.stage, deal.amount, deal.profit) == ("proposal", Decimal("12500.50"), Decimal("-200"))
    assert (deal.engage_date, deal.close_date) == (date(2024, 4, 10), date(2024, 9, 30))
    assert set(deal.products.all()) == {catalog["gx"], catalog["cloud"]}
    assert list(deal.deliverables.all()) == [catalog["arch"]]
    assert (deal.partner, deal.strategic_play, deal.poc) == (catalog["partner"], catalog["play"], "success")
    assert "Deal CRM-77 added." in client.get(LIST).content.decode()


def test_a_deal_without_a_reference_gets_one(world, login, catalog):
    login("rep").post(CREATE, deal_data(catalog))
    deal = Opportunity.objects.get(org=world.org, account=catalog["account"])
    assert deal.external_id.startswith("D-") and len(deal.external_id) == 12


def test_with_htmx_the_editor_opens_in_place_and_a_save_refreshes_the_list(world, login, catalog):
    client = login("rep")
    editor = client.get(CREATE, **HTMX).content.decode()
    assert (
        "<html" not in editor
        and 'id="entry-editor"' in editor
        and 'hx-post="/sales/opportunities/new/"' in editor
    )
    assert "autofocus" in editor
    response = client.post(CREATE, deal_data(catalog, external_id="HX-1"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="entry-editor"' in body and "Deal HX-1 added." in body
    assert 'id="entry-list" aria-labelledby="list-title" hx-swap-oob="true"' in body and "HX-1" in body


def test_a_rep_edits_their_deal_and_closes_it_won(world, login, catalog):
    deal = world.opportunities["nora"]
    client = login("rep")
    page = client.get(edit_url(deal)).content.decode()
    assert 'value="NORA-0"' in page
    data = deal_data(catalog, external_id="NORA-0", stage="won", close_date="2024-06-15", amount="900")
    response = client.post(edit_url(deal), data)
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.close_date, deal.amount) == ("won", date(2024, 6, 15), Decimal("900"))


def _field_error(body: str, field: str) -> str:
    """The error paragraph beside a field (its control points at it with aria-describedby)."""
    marker = f'id="id_{field}_error"'
    assert marker in body, f"no error beside {field}"
    return body.split(marker, 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"close_date": "2024-02-30"}, "close_date", "Enter a valid date"),
        ({"engage_date": "2024-13-01"}, "engage_date", "Enter a valid date"),
        ({"stage": "won", "close_date": ""}, "close_date", "A won deal needs a close date"),
        ({"stage": "lost", "close_date": ""}, "close_date", "A lost deal needs a close date"),
        ({"close_date": "2024-04-01"}, "close_date", "cannot be before the engage date (2024-04-10)"),
        ({"amount": "-5"}, "amount", "An amount cannot be negative"),
        ({"amount": "12k"}, "amount", "Enter a number"),
        ({"profit": "1,000"}, "profit", "Enter a number"),
        ({"amount": "1e30"}, "amount", "no more than 16 digits"),
        ({"stage": "sold"}, "stage", "Select a valid choice"),
        ({"products": ["abc"]}, "products", "is not a valid value"),
        ({"products": ["999999"]}, "products", "Select a valid choice"),
        ({"channel": "direct"}, "partner", "partner channel only"),
        ({"partner": "999999"}, "partner", "Select a valid choice"),
        ({"account": "x"}, "account", "Choose an account of your organisation"),
    ],
)
def test_invalid_input_is_refused_beside_its_field(world, login, catalog, changes, field, message):
    client = login("rep")
    before = Opportunity.objects.count()
    response = client.post(CREATE, deal_data(catalog, **changes))
    body = response.content.decode()
    assert response.status_code == 400
    assert message in _field_error(body, field)
    assert 'aria-invalid="true"' in body
    assert Opportunity.objects.count() == before


def test_foreign_products_and_reps_are_invalid_choices_not_errors(world, login, catalog):
    client = login("rep")
    foreign = {"products": [catalog["foreign"].pk], "identified_by": world.reps["gus"].pk}
    body = client.post(CREATE, deal_data(catalog, **foreign)).content.decode()
    assert "Select a valid choice" in _field_error(body, "products")
    assert "Select a valid choice" in _field_error(body, "identified_by")
    # a rep may credit only reps they can see: another rep of the same organisation is not offered
    other = client.post(CREATE, deal_data(catalog, identified_by=world.reps["sergio"].pk))
    assert "Select a valid choice" in _field_error(other.content.decode(), "identified_by")


def test_an_invalid_htmx_post_swaps_the_editor_with_its_errors(world, login, catalog):
    response = login("rep").post(CREATE, deal_data(catalog, amount="-1"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 400 and "<html" not in body
    assert 'id="id_amount_error"' in body
    assert (
        'aria-describedby="id_amount_error"' in body
        and "autofocus" in body.split('id="id_amount"')[0][-300:] + body.split('id="id_amount"')[1][:300]
    )


def test_a_duplicate_reference_is_refused_beside_the_field(world, login, catalog):
    body = login("rep").post(CREATE, deal_data(catalog, external_id="SERGIO-1")).content.decode()
    assert "Another deal already has the reference SERGIO-1" in _field_error(body, "external_id")


def test_a_locked_period_is_refused_naming_the_lock(world, login, catalog):
    period_lock(org=world.org, period="2024-Q1", user=world.users["admin"])
    won = Opportunity.objects.get(external_id="NORA-1")  # closed 1 Mar 2024
    client = login("rep")
    assert "2024-Q1 is locked (by Ada Admin" in client.get(edit_url(won)).content.decode()
    data = deal_data(
        catalog, external_id="NORA-1", stage="won", engage_date="2024-01-10", close_date="2024-03-01"
    )
    response = client.post(edit_url(won), data)
    body = response.content.decode()
    assert response.status_code == 400
    alert = body.split('class="alert alert--error" role="alert">', 1)[1].split("</div>", 1)[0]
    assert "2024-Q1 is locked (by Ada Admin" in alert and "deals closing in it cannot be added" in alert
    assert Opportunity.objects.get(pk=won.pk).amount == Decimal("2000")
    new = client.post(
        CREATE, deal_data(catalog, stage="won", engage_date="2024-01-05", close_date="2024-02-10")
    )
    assert new.status_code == 400 and "2024-Q1 is locked" in new.content.decode()
    deleting = client.post(delete_url(won))
    assert deleting.status_code == 400 and "2024-Q1 is locked" in deleting.content.decode()
    assert Opportunity.objects.filter(pk=won.pk).exists()


def test_text_fields_are_rendered_escaped(world, login, catalog):
    payload = '<script>alert("x")</script>'
    client = login("rep")
    client.post(CREATE, deal_data(catalog, external_id=payload))
    Account.objects.filter(pk=catalog["account"].pk).update(name='<img src=x onerror="alert(1)">')
    deal = Opportunity.objects.get(external_id=payload)
    for url in (LIST, edit_url(deal), delete_url(deal)):
        body = client.get(url).content.decode()
        assert payload not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_an_edit_requests_a_recompute_of_the_affected_periods(world, login, catalog):
    deal = world.opportunities["nora"]
    RecomputeRequest.objects.all().delete()
    DealChange.objects.all().delete()
    login("rep").post(
        edit_url(deal), deal_data(catalog, external_id="NORA-0", stage="won", close_date="2024-05-20")
    )
    periods = set(RecomputeRequest.objects.filter(org=world.org).values_list("period", flat=True))
    assert {"2024-05", "2024-Q2", "2024"} <= periods
    assert DealChange.objects.filter(org=world.org, opportunity_id=deal.pk).exists()


def test_an_edit_shows_in_the_stored_rollups_after_the_eager_recompute(
    world, login, catalog, settings, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from kpis.services import rollups_recompute
    from tests.kpis.stored import stored_actual

    rollups_recompute(org=world.org)
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()
    path = "Acme/Nordics/Stockholm"
    assert stored_actual(world.org, "won_revenue", "2024-Q1", path) == 2000  # NORA-1
    won = Opportunity.objects.get(external_id="NORA-1")
    with django_capture_on_commit_callbacks(execute=True):
        response = login("rep").post(
            edit_url(won),
            deal_data(
                catalog,
                external_id="NORA-1",
                stage="won",
                engage_date="2024-01-10",
                close_date="2024-03-01",
                amount="3500",
            ),
        )
    assert response.status_code == 302
    assert stored_actual(world.org, "won_revenue", "2024-Q1", path) == 3500


# --- delete ---------------------------------------------------------------------------------------


def test_a_rep_deletes_their_deal_after_confirming(world, login):
    deal = world.opportunities["nora"]
    client = login("rep")
    confirm = client.get(delete_url(deal), **HTMX).content.decode()
    assert "Delete deal NORA-0?" in confirm and "<html" not in confirm
    response = client.post(delete_url(deal), **HTMX)
    assert response.status_code == 200 and "Deal NORA-0 deleted." in response.content.decode()
    assert not Opportunity.objects.filter(pk=deal.pk).exists()


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [edit_url, delete_url])
def test_a_rep_gets_404_on_another_reps_deal(world, login, catalog, url):
    deal = world.opportunities["sergio"]
    client = login("rep")
    assert client.get(url(deal)).status_code == 404
    assert client.post(url(deal), deal_data(catalog, external_id="MINE")).status_code == 404
    assert Opportunity.objects.filter(pk=deal.pk, external_id="SERGIO-0").exists()


def test_a_rep_may_not_change_a_deal_they_only_identified(world, login, catalog):
    deal = world.opportunities["sergio"]
    Opportunity.objects.filter(pk=deal.pk).update(identified_by=world.reps["nora"])
    client = login("rep")
    assert client.post(edit_url(deal), deal_data(catalog, external_id="MINE")).status_code == 403
    assert "SERGIO-0" not in client.get(LIST).content.decode()


def test_a_viewer_gets_403_on_every_write(world, login, catalog):
    client = login("viewer")
    deal = world.opportunities["nora"]
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, deal_data(catalog)).status_code == 403
    assert client.post(edit_url(deal), deal_data(catalog, external_id="X")).status_code == 403
    assert client.post(delete_url(deal)).status_code == 403
    assert Opportunity.objects.filter(pk=deal.pk, external_id="NORA-0").exists()


def test_a_manager_edits_a_subtree_deal_and_gets_404_outside_it(world, login, catalog):
    client = login("manager")
    nora_deal, sergio_deal = world.opportunities["nora"], world.opportunities["sergio"]
    data = deal_data(catalog, external_id="NORA-0", rep=world.reps["nora"].pk, amount="4321")
    assert client.post(edit_url(nora_deal), data).status_code == 302
    assert Opportunity.objects.get(pk=nora_deal.pk).amount == Decimal("4321")
    assert client.get(edit_url(sergio_deal)).status_code == 404
    assert client.post(edit_url(sergio_deal), data).status_code == 404


def test_each_regions_manager_changes_only_the_own_regions_deals(world, login, catalog):
    """Both directions, so neither depends on the order of the names."""
    for persona, own, other, hidden in (
        ("manager", "nora", "sergio", "Sergio Sanz"),
        ("other_manager", "sergio", "nora", "Nora Nordin"),
    ):
        client = login(persona)
        own_deal, other_deal = world.opportunities[own], world.opportunities[other]
        page = client.get(LIST).content.decode() + client.get(edit_url(own_deal)).content.decode()
        assert hidden not in page
        data = deal_data(catalog, external_id=own_deal.external_id, rep=world.reps[own].pk, amount="77")
        assert client.post(edit_url(own_deal), data).status_code == 302
        assert client.post(edit_url(other_deal), data).status_code == 404
        assert client.post(delete_url(other_deal)).status_code == 404
        assert client.get(LIST, {"rep": world.reps[other].pk}).status_code == 404


def test_a_manager_adds_deals_for_the_subtrees_reps_only(world, login, catalog):
    client = login("manager")
    form = client.get(CREATE).content.decode()
    assert "Nora Nordin" in form and "Sergio Sanz" not in form
    refused = client.post(CREATE, deal_data(catalog, rep=world.reps["sergio"].pk))
    assert refused.status_code == 400 and "Select a valid choice" in _field_error(
        refused.content.decode(), "rep"
    )
    missing = client.post(CREATE, deal_data(catalog))
    assert "This field is required" in _field_error(missing.content.decode(), "rep")
    assert (
        client.post(CREATE, deal_data(catalog, external_id="M-1", rep=world.reps["nora"].pk)).status_code
        == 302
    )
    assert Opportunity.objects.get(external_id="M-1").rep == world.reps["nora"]


def test_an_admin_keeps_a_house_deal_without_a_rep(world, login, catalog):
    house = Opportunity.objects.create(org=world.org, external_id="HOUSE-1", stage=Stage.PROSPECTING)
    client = login("admin")
    assert "No rep (house account)" in client.get(edit_url(house)).content.decode()
    assert (
        client.post(edit_url(house), deal_data(catalog, external_id="HOUSE-1", amount="10")).status_code
        == 302
    )
    house.refresh_from_db()
    assert (house.rep, house.amount) == (None, Decimal("10"))
    assert "House account" in client.get(LIST).content.decode()


def test_another_organisations_deals_are_404(world, login, catalog):
    gus_deal, nora_deal = world.opportunities["gus"], world.opportunities["nora"]
    assert login("admin").get(edit_url(gus_deal)).status_code == 404
    outsider = login("outsider")
    assert outsider.get(edit_url(nora_deal)).status_code == 404
    assert outsider.post(delete_url(nora_deal)).status_code == 404
    assert "NORA" not in outsider.get(LIST).content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for url in (LIST, CREATE):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
