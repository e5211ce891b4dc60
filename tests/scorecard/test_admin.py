"""Every Django admin page of the project renders for an administrator."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kpis.models import KPI

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
    client = login("admin")
    url = reverse(f"admin:{name}_changelist")
    assert client.get(url).status_code == 200
    if name != "scorecard_organization":
        assert client.get(url, {"org__id__exact": world.org.pk}).status_code == 200
    assert client.get(url, {"q": "Nordics"}).status_code == 200
    add = client.get(reverse(f"admin:{name}_add"))
    assert add.status_code == (403 if name == "kpis_rolluprun" else 200)


def test_admin_change_pages_render_for_tree_rep_and_kpi(login, world):
    client = login("admin")
    kpi = KPI.objects.filter(org=world.org).first()
    for name, pk in (
        ("territories_territory", world.territories["stockholm"].pk),
        ("territories_rep", world.reps["nora"].pk),
        ("kpis_kpi", kpi.pk),
        ("scorecard_organization", world.org.pk),
        ("perspectives_perspective", kpi.objective.perspective_id),
    ):
        assert client.get(reverse(f"admin:{name}_change", args=[pk])).status_code == 200
