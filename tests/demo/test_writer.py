"""Writing the demo plan into the database: every planned row stored, rebuildable, other data left alone."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date

import pytest
from django.contrib.auth import get_user_model

from demo.data import DEMO_EMAIL_DOMAIN, DEMO_SLUG
from demo.plan import plan_demo
from demo.plan_targets import template_kpis
from demo.writer import DemoError, demo_create
from kpis.models import KPI, Measurement, Note, Target
from people.models import Certification, ProgramParticipation
from sales.models import Opportunity
from scorecard.models import Membership, Organization, Role
from scorecard.services import organization_create
from territories.models import Rep, Territory, TerritoryAssignment

TODAY = date(2026, 11, 23)


def demo_digest(org: Organization) -> str:
    """A fingerprint of the demo's content by natural keys (database ids and wall-clock times left out)."""
    h = hashlib.sha256()

    def feed(rows) -> None:
        for row in sorted(repr(tuple(r)) for r in rows):
            h.update(row.encode())

    feed(Territory.objects.filter(org=org).values_list("full_name", "owner__username", "owner_name"))
    feed(
        Rep.objects.filter(org=org).values_list("name", "email", "hire_date", "leave_date", "user__username")
    )
    feed(
        TerritoryAssignment.objects.filter(org=org).values_list(
            "rep__name", "territory__full_name", "start", "end"
        )
    )
    feed(
        (
            o.external_id,
            o.rep and o.rep.name,
            o.account and o.account.external_id,
            o.stage,
            o.created_date,
            o.engage_date,
            o.close_date,
            o.amount,
            o.profit,
            o.channel,
            o.partner and o.partner.name,
            o.strategic_play and o.strategic_play.name,
            o.poc,
            o.identified_by and o.identified_by.name,
            sorted(p.name for p in o.products.all()),
            sorted(d.name for d in o.deliverables.all()),
        )
        for o in Opportunity.objects.filter(org=org)
        .select_related("rep", "account", "partner", "strategic_play", "identified_by")
        .prefetch_related("products", "deliverables")
    )
    feed(Certification.objects.filter(org=org).values_list("rep__name", "type__name", "earned", "expires"))
    feed(
        ProgramParticipation.objects.filter(org=org).values_list("rep__name", "program__name", "start", "end")
    )
    feed(
        Measurement.objects.filter(org=org).values_list(
            "kpi__slug", "territory__full_name", "rep__name", "period", "value", "weight", "entered_at"
        )
    )
    feed(
        Target.objects.filter(org=org).values_list(
            "kpi__slug",
            "territory__full_name",
            "rep__name",
            "period",
            "goal",
            "red_flag",
            "reason",
            "set_by__username",
            "set_at",
            "superseded_at",
        )
    )
    feed(
        Note.objects.filter(org=org).values_list(
            "kind", "period", "kpi__slug", "rep__name", "text", "created_at"
        )
    )
    return h.hexdigest()


# --- determinism and rebuilding -------------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_and_day_store_identical_data():
    first = demo_digest(demo_create(seed=11, today=TODAY, size="small").org)
    second = demo_digest(demo_create(seed=11, today=TODAY, size="small").org)
    assert first == second


@pytest.mark.django_db
def test_another_seed_stores_other_data():
    base = demo_digest(demo_create(seed=11, today=TODAY, size="small").org)
    assert demo_digest(demo_create(seed=12, today=TODAY, size="small").org) != base


@pytest.mark.django_db
def test_rerun_replaces_the_demo_instead_of_adding_to_it():
    demo_create(today=TODAY, size="small")
    counts = (Opportunity.objects.count(), Rep.objects.count(), get_user_model().objects.count())
    demo_create(today=TODAY, size="small")
    assert Organization.objects.filter(slug=DEMO_SLUG).count() == 1
    assert (Opportunity.objects.count(), Rep.objects.count(), get_user_model().objects.count()) == counts


@pytest.mark.django_db
def test_rebuild_leaves_other_organisations_and_users_alone():
    other = Organization.objects.create(name="Other", slug="other")
    outsider = get_user_model().objects.create_user("someone", password="x")
    demo_create(today=TODAY, size="small")
    demo_create(today=TODAY, size="small")
    assert Organization.objects.filter(pk=other.pk).exists()
    assert get_user_model().objects.filter(pk=outsider.pk).exists()


@pytest.mark.django_db
def test_refuses_to_replace_a_user_it_did_not_create():
    get_user_model().objects.create_user("admin", email="ops@example.com", password="secret")
    with pytest.raises(DemoError, match="admin"):
        demo_create(today=TODAY, size="small")
    user = get_user_model().objects.get(username="admin")
    assert user.email == "ops@example.com" and user.check_password("secret")
    assert not Organization.objects.filter(slug=DEMO_SLUG).exists()


# --- the plan, stored -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_goals_are_drawn_in_the_order_an_organisation_lists_its_kpis():
    org = organization_create(name="Acme", slug="acme")
    assert [k.slug for k in template_kpis()] == list(
        KPI.objects.filter(org=org).values_list("slug", flat=True)
    )
    stored = {k.slug: (k.unit, k.direction, k.source, k.metric) for k in KPI.objects.filter(org=org)}
    assert {k.slug: (k.unit, k.direction, k.source, k.metric) for k in template_kpis()} == stored


@pytest.mark.django_db
def test_every_planned_row_is_stored():
    plan = plan_demo(seed=5, today=TODAY, size="small")
    result = demo_create(seed=5, today=TODAY, size="small")
    org = result.org
    assert result.counts == {
        "territories": 1 + len({t.region.name for t in plan.roster.teams}) + len(plan.roster.teams),
        "reps": len(plan.roster.reps),
        "accounts": len(plan.accounts),
        "opportunities": len(plan.deals),
        "certifications": len(plan.certifications()),
        "programme participations": len(plan.participations),
        "measurements": len(plan.measurements),
        "targets": len(plan.targets),
        "notes": len(plan.notes),
    }
    assert Rep.objects.filter(org=org).count() == len(plan.roster.reps)
    assert TerritoryAssignment.objects.filter(org=org).count() == sum(
        len(r.assignments) for r in plan.roster.reps
    )
    first, last = plan.deals[0], plan.deals[-1]
    opportunities = Opportunity.objects.filter(org=org).order_by("external_id")
    assert opportunities.first().created_date == first.created
    assert (opportunities.last().stage, opportunities.last().amount) == (last.stage, last.amount)
    stamped = Counter(Target.objects.filter(org=org).values_list("set_at", flat=True))
    assert stamped == Counter(t.set_at for t in plan.targets)


@pytest.mark.django_db
def test_territory_tree_has_three_levels():
    org = demo_create(today=TODAY, size="small").org
    depths = Counter(Territory.objects.filter(org=org).values_list("depth", flat=True))
    assert depths[1] == 1
    assert 3 <= depths[2] <= 4
    assert 2 * depths[2] <= depths[3] <= 3 * depths[2]
    for region in Territory.objects.filter(org=org, depth=2):
        assert 2 <= Territory.objects.filter(depth=3, path__startswith=region.path).count() <= 3


@pytest.mark.django_db
def test_users_exist_with_the_right_memberships():
    org = demo_create(today=TODAY, size="small").org
    users = {u.username: u for u in get_user_model().objects.filter(email__endswith=DEMO_EMAIL_DOMAIN)}
    assert set(users) == {"admin", "manager", "rep", "viewer"}
    for user in users.values():
        assert user.check_password("demo")
    assert not [
        name for name, u in users.items() if u.is_staff or u.is_superuser
    ]  # the admin is for operators
    roles = {m.user.username: m for m in Membership.objects.filter(org=org).select_related("user")}
    assert {name: m.role for name, m in roles.items()} == {
        "admin": Role.ADMIN,
        "manager": Role.MANAGER,
        "rep": Role.REP,
        "viewer": Role.VIEWER,
    }
    region = roles["manager"].territory
    assert region.depth == 2 and region.owner == users["manager"]
    rep = roles["rep"].rep
    assert rep.user == users["rep"] and rep.leave_date is None
    assert (users["rep"].first_name, users["rep"].last_name) == tuple(rep.name.split(" ", 1))
    assert rep.assignments.get(end__isnull=True).territory.path.startswith(region.path)
