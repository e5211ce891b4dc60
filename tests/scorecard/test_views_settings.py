"""/manage/settings/: name, currency and fiscal year start. A new fiscal year start renames years and
quarters: the page warns and asks to confirm, refuses while rows keyed by the old calendar's years or
quarters exist, and requests a full recompute."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis.models import KPI, RecomputeRequest
from kpis.services import target_set
from scorecard.models import Organization
from scorecard.services import period_lock
from scorecard.views_settings import calendar_preview
from tests.form_helpers import XSS, XSS_ESCAPED, error_beside

pytest_plugins = ["tests.conftest_personas"]

URL = reverse("manage_settings")


def _post(client, **fields):
    data = {"name": "Acme Test Org", "currency": "USD", "fiscal_year_start_month": "1", **fields}
    return client.post(URL, {f"settings-{k}": v for k, v in data.items()})


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_open_or_change_the_settings(world, login, persona):
    client = login(persona)
    assert client.get(URL).status_code == 403
    assert _post(client, name="Mine").status_code == 403
    assert Organization.objects.get(pk=world.org.pk).name == "Acme Test Org"


def test_an_admin_changes_each_their_own_organisations_settings_only(world, login):
    response = _post(login("admin"), name="Acme Worldwide", currency="eur", reason="Rebranded")
    assert response.status_code == 302
    org = Organization.objects.get(pk=world.org.pk)
    assert (org.name, org.currency, org.fiscal_year_start_month) == ("Acme Worldwide", "EUR", 1)
    assert Organization.objects.get(pk=world.other_org.pk).name == "Globex Outsider Org"
    record = Organization.history.filter(id=org.pk).latest("history_date")
    assert (record.history_user, record.history_change_reason) == (world.users["admin"], "Rebranded")
    page = login("admin").get(URL).content.decode()
    assert "Name Acme Test Org → Acme Worldwide; Currency USD → EUR" in page and "Rebranded" in page


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"name": ""}, "id_settings-name", "This field is required."),
        ({"currency": "EURO"}, "id_settings-currency", "at most 3 characters"),
        ({"currency": "U$D"}, "id_settings-currency", "three-letter ISO 4217 code"),
        ({"fiscal_year_start_month": "13"}, "id_settings-fiscal_year_start_month", "Select a valid choice"),
        (
            {"fiscal_year_start_month": "April"},
            "id_settings-fiscal_year_start_month",
            "Select a valid choice",
        ),
    ],
)
def test_bad_settings_are_refused_beside_the_field(world, login, fields, field_id, message):
    response = _post(login("admin"), **fields)
    assert response.status_code == 400
    assert message in error_beside(response.content.decode(), field_id)
    org = Organization.objects.get(pk=world.org.pk)
    assert (org.name, org.currency, org.fiscal_year_start_month) == ("Acme Test Org", "USD", 1)


def test_a_new_fiscal_year_start_is_confirmed_then_recomputes_everything(world, login):
    client = login("admin")
    RecomputeRequest.objects.get_or_create(
        org=world.org, period="2024-Q1", defaults={"requested_at": timezone.now()}
    )
    response = _post(client, fiscal_year_start_month="4")
    assert response.status_code == 400
    page = response.content.decode()
    assert "tick to confirm" in error_beside(page, "id_settings-confirm")
    assert "The fiscal year would start in April." in page
    assert Organization.objects.get(pk=world.org.pk).fiscal_year_start_month == 1

    response = _post(client, fiscal_year_start_month="4", confirm="on", reason="New fiscal policy")
    assert response.status_code == 302
    assert Organization.objects.get(pk=world.org.pk).fiscal_year_start_month == 4
    # the stale request keyed by the old calendar is gone; everything is to be recomputed
    assert set(RecomputeRequest.objects.filter(org=world.org).values_list("period", flat=True)) == {"*"}
    record = Organization.history.filter(id=world.org.pk).latest("history_date")
    assert (record.fiscal_year_start_month, record.history_change_reason) == (4, "New fiscal policy")
    assert "Fiscal year start January → April" in client.get(URL).content.decode()


def test_the_preview_names_todays_year_and_quarter_under_both_calendars():
    assert calendar_preview(1, 4, dt.date(2025, 5, 10)) == {
        "old_year": "2025",
        "old_quarter": "2025-Q2",
        "new_year": "FY2026",
        "new_quarter": "FY2026-Q1",
        "new_month": "April",
    }


def test_the_fiscal_year_cannot_change_while_rows_use_year_or_quarter_keys(world, login):
    kpi = KPI.objects.filter(org=world.org).order_by("pk").first()
    assert kpi is not None
    target_set(kpi=kpi, period="2024-Q2", goal=100, territory=world.territories["root"])
    target_set(kpi=kpi, period="2024-05", goal=40, territory=world.territories["root"])  # months are fine
    period_lock(org=world.org, period="2023")
    response = _post(login("admin"), fiscal_year_start_month="7", confirm="on")
    assert response.status_code == 400
    error = error_beside(response.content.decode(), "id_settings-fiscal_year_start_month")
    assert error.startswith("1 period lock and 1 target are keyed by years or quarters")
    assert Organization.objects.get(pk=world.org.pk).fiscal_year_start_month == 1


def test_an_organisation_name_with_markup_is_shown_escaped(world, login):
    client = login("admin")
    _post(client, name=XSS)
    html = client.get(URL).content.decode()
    assert XSS not in html and XSS_ESCAPED in html


def test_the_page_reads_a_bounded_number_of_queries(world, login, django_assert_max_num_queries):
    client = login("admin")
    for i in range(30):
        _post(client, name=f"Acme {i}")
    with django_assert_max_num_queries(15):
        assert client.get(URL).status_code == 200
