"""The Django admin: every page renders for a platform operator (a superuser); nobody else gets in."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from demo.data import DEMO_EMAIL_DOMAIN
from demo.writer import demo_create
from kpis.models import KPI
from tests.factories import UserFactory

pytest_plugins = ["tests.conftest_personas"]


ADMIN_CHANGELISTS = [
    "scorecard_organization",
    "scorecard_membership",
    "scorecard_periodlock",
    "territories_territory",
    "territories_rep",
    "territories_territoryassignment",
    "sales_account",
    "sales_product",
    "sales_partner",
    "sales_strategicplay",
    "sales_deliverable",
    "sales_opportunity",
    "people_certificationtype",
    "people_certification",
    "people_program",
    "people_programparticipation",
    "perspectives_perspective",
    "perspectives_objective",
    "perspectives_objectivelink",
    "kpis_kpi",
    "kpis_target",
    "kpis_measurement",
    "kpis_rolluprun",
    "kpis_note",
]


@pytest.mark.parametrize("name", ADMIN_CHANGELISTS)
def test_admin_changelist_and_add_page_render(login, world, name):
    client = login("operator")
    url = reverse(f"admin:{name}_changelist")
    assert client.get(url).status_code == 200
    if name != "scorecard_organization":
        assert client.get(url, {"org__id__exact": world.org.pk}).status_code == 200
    assert client.get(url, {"q": "Nordics"}).status_code == 200
    add = client.get(reverse(f"admin:{name}_add"))
    assert add.status_code == (403 if name == "kpis_rolluprun" else 200)


def test_admin_change_pages_render_for_tree_rep_and_kpi(login, world):
    client = login("operator")
    kpi = KPI.objects.filter(org=world.org).first()
    for name, pk in (
        ("territories_territory", world.territories["stockholm"].pk),
        ("territories_rep", world.reps["nora"].pk),
        ("kpis_kpi", kpi.pk),
        ("scorecard_organization", world.org.pk),
        ("perspectives_perspective", kpi.objective.perspective_id),
    ):
        assert client.get(reverse(f"admin:{name}_change", args=[pk])).status_code == 200


def _admin_urls() -> list[str]:
    """The admin's index and every registered model's list and add pages."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        opts = model._meta
        urls += [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
        urls += [reverse(f"admin:{opts.app_label}_{opts.model_name}_add")]
    return urls


@pytest.mark.parametrize(
    "persona", ["admin", "manager", "rep", "other_rep", "viewer", "outsider", "nobody", "staff"]
)
def test_nobody_but_a_superuser_enters_the_django_admin(world, client, persona):
    """The admin lists every organisation's rows: an organisation admin, a staff user who is not a
    superuser, and every other persona are sent to the admin's login page from every admin URL."""
    user = UserFactory.create(username="stan", is_staff=True) if persona == "staff" else world.users[persona]
    client.force_login(user)
    urls = _admin_urls()
    assert len(urls) > 40
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.django_db
def test_no_demo_user_enters_the_django_admin(client):
    demo_create(today=date(2024, 6, 15), size="small")
    for user in get_user_model().objects.filter(email__endswith=DEMO_EMAIL_DOMAIN):
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302, user.username
