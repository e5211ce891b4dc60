"""Starting an organisation in the browser: a signed-in person with no organisation (or an operator)
creates one and becomes its admin; members of an organisation cannot."""

from __future__ import annotations

from django.urls import reverse

from kpis.models import KPI
from scorecard.models import Membership, Organization, Role

pytest_plugins = ["tests.conftest_personas"]

URL = reverse("org_create")


def test_a_person_without_an_organisation_starts_one_and_becomes_its_admin(world, login):
    client = login("nobody")
    assert reverse("org_create") in client.get(reverse("home")).content.decode()  # offered on the no-org page
    response = client.post(URL, {"name": "Initech Sales", "currency": "eur", "fiscal_year_start_month": 4})
    assert response.status_code == 302 and response["Location"] == reverse("manage")
    org = Organization.objects.get(slug="initech-sales")
    assert (org.currency, org.fiscal_year_start_month) == ("EUR", 4)
    assert Membership.objects.get(org=org, user=world.users["nobody"]).role == Role.ADMIN
    assert org.root_territory().name == "Initech Sales" and KPI.objects.filter(org=org).count() > 40
    assert client.get(reverse("manage")).status_code == 200


def test_a_taken_short_name_is_refused_beside_the_field(world, login):
    response = login("nobody").post(
        URL, {"name": "x", "slug": world.org.slug, "currency": "USD", "fiscal_year_start_month": 1}
    )
    assert response.status_code == 400 and "is taken" in response.content.decode()
    assert Organization.objects.count() == 2


def test_members_of_an_organisation_cannot_start_another_operators_can(world, login):
    for persona in ("admin", "manager", "rep", "viewer"):
        assert login(persona).get(URL).status_code == 403
    assert login("operator").get(URL).status_code == 200


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_name_is_escaped(world, login):
    client = login("nobody")
    client.post(URL, {"name": "<b>Evil</b>", "slug": "evil", "currency": "USD", "fiscal_year_start_month": 1})
    page = client.get(reverse("manage")).content.decode()
    assert "<b>Evil</b>" not in page and "&lt;b&gt;Evil&lt;/b&gt;" in page
