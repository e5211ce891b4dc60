"""The project's own pages: login, the home page of each role, the organisation switcher."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kpis.models import KPI, Unit
from perspectives.models import Objective, Perspective
from scorecard.models import Membership, Role
from territories.models import Rep
from territories.services import assignment_create, territory_child_create

pytest_plugins = ["tests.conftest_personas"]

HOME = "/"
DEFINITIONS = "/definitions/"  # the former home page; a rep's home is now their scorecard
START = dt.date(2020, 1, 1)


def _text(response) -> str:
    return response.content.decode()


# --- login, anonymous, no membership -----------------------------------------------------------


def test_login_page_renders_a_form_with_csrf(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = _text(response)
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert "csrfmiddlewaretoken" in html
    assert "Sign in" in html


def test_login_with_the_right_password_lands_on_home(client, world):
    response = client.post(reverse("login"), {"username": "vic", "password": "persona-password"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Acme Test Org" in _text(response)


def test_login_with_a_wrong_password_shows_an_error(client, world):
    response = client.post(reverse("login"), {"username": "vic", "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in _text(response)


def test_anonymous_is_redirected_to_login(client, db):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_anonymous_cannot_switch_organisation(client, world):
    response = client.post(reverse("org_switch"), {"org": world.org.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_user_without_membership_gets_the_no_membership_page(login):
    response = login("nobody").get(HOME)
    assert response.status_code == 403
    assert "scorecard/no_membership.html" in [t.name for t in response.templates]
    html = _text(response)
    assert "not a member of any organisation" in html
    assert "Acme Test Org" not in html
    assert reverse("logout") in html


def test_logout_is_a_post_form_in_the_navigation(login):
    html = _text(login("viewer").get(HOME))
    assert f'<form method="post" action="{reverse("logout")}"' in html


# --- the definitions page per role (a rep's home) -----------------------------------------------


def test_admin_home_shows_everything_and_links_the_manage_pages_not_the_django_admin(login):
    html = _text(login("admin").get(DEFINITIONS))
    for name in ("Acme Test Org", "Nordics", "Iberia", "Stockholm", "Madrid", "Nora Nordin", "Sergio Sanz"):
        assert name in html
    assert "Administration" in html
    assert reverse("manage") in html
    assert "/admin/" not in html
    assert "Globex" not in html


def test_viewer_home_shows_the_whole_organisation_without_admin_links(login):
    html = _text(login("viewer").get(DEFINITIONS))
    for name in ("Nordics", "Iberia", "Stockholm", "Madrid", "Nora Nordin", "Sergio Sanz"):
        assert name in html
    assert "Read-only view of the whole organisation" in html
    assert "Administration" not in html
    assert "/admin/" not in html


def test_manager_home_shows_own_subtree_and_its_reps_only(login):
    html = _text(login("manager").get(DEFINITIONS))
    assert "Nordics" in html
    assert "Stockholm" in html
    assert "Nora Nordin" in html
    assert "Iberia" not in html
    assert "Madrid" not in html
    assert "Sergio Sanz" not in html
    assert "Administration" not in html


def test_manager_may_select_a_territory_in_the_subtree_but_not_outside(login, world):
    client = login("manager")
    inside = client.get(DEFINITIONS, {"territory": world.territories["stockholm"].pk})
    assert inside.status_code == 200
    assert inside.context["selected"] == world.territories["stockholm"]
    assert client.get(DEFINITIONS, {"territory": world.territories["madrid"].pk}).status_code == 404
    assert client.get(DEFINITIONS, {"territory": world.territories["root"].pk}).status_code == 404
    assert client.get(DEFINITIONS, {"territory": world.territories["globex_hq"].pk}).status_code == 404
    assert client.get(DEFINITIONS, {"territory": "not-a-number"}).status_code == 404


def test_rep_definitions_show_own_record_territory_and_opportunity_count(login, world):
    response = login("rep").get(DEFINITIONS)
    html = _text(response)
    assert "My record" in html
    assert "Nora Nordin" in html
    assert "nora@acme.test" in html
    assert "Acme/Nordics/Stockholm" in html
    assert response.context["own_opportunities"] == {"total": 2, "open": 1, "won": 1, "lost": 0}
    assert 'data-testid="own-opportunity-count">2<' in html


def test_rep_definitions_do_not_show_other_reps_or_territories(login):
    html = _text(login("rep").get(DEFINITIONS))
    assert "Sergio Sanz" not in html
    assert "Iberia" not in html
    assert "Madrid" not in html
    assert "Administration" not in html
    assert "?territory=" not in html


def test_rep_may_not_select_a_territory_that_is_not_theirs(login, world):
    client = login("rep")
    assert client.get(DEFINITIONS, {"territory": world.territories["stockholm"].pk}).status_code == 200
    assert client.get(DEFINITIONS, {"territory": world.territories["nordics"].pk}).status_code == 404
    assert client.get(DEFINITIONS, {"territory": world.territories["madrid"].pk}).status_code == 404


def test_outsider_sees_own_organisation_and_nothing_of_acme(login, world):
    client = login("outsider")
    html = _text(client.get(DEFINITIONS))
    assert "Globex Outsider Org" in html
    assert "Gustav Globex" in html
    for name in ("Acme Test Org", "Nordics", "Iberia", "Nora Nordin", "Sergio Sanz"):
        assert name not in html
    assert client.get(DEFINITIONS, {"territory": world.territories["nordics"].pk}).status_code == 404


def test_home_shows_kpi_definitions_by_perspective_with_value_proposition_and_links(login, world):
    response = login("viewer").get(DEFINITIONS)
    html = _text(response)
    perspectives = response.context["perspectives"]
    assert [b.perspective.slug for b in perspectives] == list(
        Perspective.objects.filter(org=world.org).order_by("order").values_list("slug", flat=True)
    )
    shown = {k.slug for b in perspectives for o in b.objectives for k in o.kpis}
    assert shown == set(KPI.objects.filter(org=world.org, active=True).values_list("slug", flat=True))
    customer = Perspective.objects.get(org=world.org, slug="customer")
    assert customer.value_proposition
    assert "Customer value proposition" in html
    assert customer.value_proposition[:40] in html
    assert "Strategy map" in html
    cause_names = {row.cause.name for row in response.context["strategy_map"]}
    assert cause_names
    assert all(name in html for name in cause_names)


def test_kpi_values_are_shown_in_their_unit(login, world):
    objective = Objective.objects.filter(org=world.org).first()
    assert objective is not None
    KPI.objects.create(
        org=world.org,
        objective=objective,
        slug="probe-rate",
        name="Probe rate",
        unit=Unit.FRACTION,
        source="manual",
        default_goal="0.35",
        default_red_flag="0.25",
    )
    KPI.objects.create(
        org=world.org,
        objective=objective,
        slug="probe-money",
        name="Probe money",
        unit=Unit.CURRENCY,
        source="formula",
        formula="won_revenue / 2",
        default_goal="1250000",
    )
    html = _text(login("viewer").get(DEFINITIONS))
    assert "35%" in html and "25%" in html
    assert "$1,250,000" in html
    assert "won_revenue / 2" in html


def test_inactive_kpis_are_not_listed(login, world):
    kpi = KPI.objects.filter(org=world.org).first()
    kpi.active = False
    kpi.save()
    response = login("viewer").get(DEFINITIONS)
    shown = {k.pk for b in response.context["perspectives"] for o in b.objectives for k in o.kpis}
    assert kpi.pk not in shown


def test_htmx_territory_request_returns_the_fragment_only(login, world):
    response = login("admin").get(
        DEFINITIONS, {"territory": world.territories["iberia"].pk}, headers={"HX-Request": "true"}
    )
    html = _text(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="territories"' in html
    assert "Sergio Sanz" in html
    assert "Nora Nordin" not in html  # Iberia's reps only
    assert "HX-Request" in response["Vary"]


def test_home_tree_is_the_shared_scope_picker(login, world):
    admin_html = _text(login("admin").get(DEFINITIONS))
    assert '<ul class="tree scope-picker" role="list">' in admin_html
    rep_html = _text(login("rep").get(DEFINITIONS))
    assert '<ul class="tree scope-picker" role="list">' in rep_html
    assert 'class="tree__name" href=' not in rep_html


def test_territory_links_work_without_javascript(login, world):
    html = _text(login("admin").get(DEFINITIONS))
    assert f'href="/definitions/?territory={world.territories["iberia"].pk}"' in html


# --- organisation switcher -----------------------------------------------------------------------


def test_switcher_shows_only_with_several_memberships(login, world):
    client = login("viewer")
    assert "Switch organisation" not in _text(client.get(DEFINITIONS))
    Membership.objects.create(user=world.users["viewer"], org=world.other_org, role=Role.VIEWER)
    html = _text(client.get(DEFINITIONS))
    assert "Switch organisation" in html
    assert "Globex Outsider Org" in html


def test_switching_to_an_own_organisation_changes_the_home_page(login, world):
    Membership.objects.create(user=world.users["viewer"], org=world.other_org, role=Role.VIEWER)
    client = login("viewer")
    response = client.post(reverse("org_switch"), {"org": world.other_org.pk}, follow=True)
    assert response.context["org"] == world.other_org
    assert "Gustav Globex" in _text(response)


def test_switching_to_a_foreign_organisation_is_404(login, world):
    client = login("manager")
    assert client.post(reverse("org_switch"), {"org": world.other_org.pk}).status_code == 404
    assert client.post(reverse("org_switch"), {"org": "junk"}).status_code == 404
    assert client.get(DEFINITIONS).context["org"] == world.org


def test_switching_needs_post(login):
    assert login("viewer").get(reverse("org_switch")).status_code == 405


# --- query count ---------------------------------------------------------------------------------

MAX_HOME_QUERIES = 13


def _grow(world, n: int) -> None:
    """Add n territories with a rep each, and n KPIs, under the manager's region."""
    objective = Objective.objects.filter(org=world.org).first()
    assert objective is not None
    region = world.territories["nordics"]
    for i in range(n):
        region.refresh_from_db()
        team = territory_child_create(parent=region, name=f"Team {i:03d}")
        rep = Rep.objects.create(org=world.org, name=f"Grown Rep {i:03d}")
        assignment_create(rep=rep, territory=team, start=START)
        KPI.objects.create(
            org=world.org,
            objective=objective,
            slug=f"grown-{i}",
            name=f"Grown KPI {i}",
            unit="count",
            source="manual",
        )


@pytest.mark.parametrize("persona", ["admin", "manager", "rep", "viewer"])
def test_home_runs_a_bounded_number_of_queries(login, world, persona, django_assert_max_num_queries):
    client = login(persona)
    client.get(DEFINITIONS)  # warm the session
    with django_assert_max_num_queries(MAX_HOME_QUERIES):
        small = client.get(DEFINITIONS)
    assert small.status_code == 200
    _grow(world, 25)
    with django_assert_max_num_queries(MAX_HOME_QUERIES):
        large = client.get(DEFINITIONS)
    assert large.status_code == 200
    if persona in ("admin", "manager", "viewer"):
        assert "Team 024" in _text(large)
