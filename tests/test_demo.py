"""The synthetic demo organisation: deterministic, complete enough to exercise every KPI, rebuildable."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Sum

from demo.data import DEMO_EMAIL_DOMAIN, DEMO_SLUG
from demo.writer import DemoError, demo_create, demo_delete
from kpis.models import KPI, Measurement, Note, ScopeRollup, Target
from people.models import Certification, CertificationCategory, ProgramKind, ProgramParticipation
from perspectives.template import KPIS
from sales.models import OPEN_STAGES, Channel, Opportunity, Poc, Stage
from scorecard import periods
from scorecard.models import Membership, Organization, Role
from territories.models import Rep, Territory, TerritoryAssignment

TODAY = date(2026, 11, 23)
CURRENT_QUARTER = periods.period_containing(TODAY, periods.QUARTER)


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


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The full demo, built once for the read-only checks of this module and removed afterwards."""
    with django_db_blocker.unblock():
        result = demo_create(today=TODAY)
        yield result.org
        demo_delete()


# --- determinism and rebuilding -------------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_and_day_give_identical_data():
    first = demo_digest(demo_create(seed=11, today=TODAY, size="small").org)
    second = demo_digest(demo_create(seed=11, today=TODAY, size="small").org)
    assert first == second


@pytest.mark.django_db
def test_another_seed_or_another_day_gives_other_data():
    base = demo_digest(demo_create(seed=11, today=TODAY, size="small").org)
    assert demo_digest(demo_create(seed=12, today=TODAY, size="small").org) != base
    assert demo_digest(demo_create(seed=11, today=date(2026, 11, 24), size="small").org) != base


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


@pytest.fixture
def recompute_calls(monkeypatch):
    """The rollup recompute the command sends, recorded instead of run (the engine has its own tests)."""
    calls: list[tuple] = []
    monkeypatch.setattr("kpis.tasks.recompute_org.delay", lambda *args, **kw: calls.append(args))
    return calls


@pytest.mark.django_db
def test_command_prints_the_logins_and_sends_a_recompute(recompute_calls):
    out = StringIO()
    call_command("seed_demo", "--today", "2026-11-23", "--size", "small", stdout=out)
    text = out.getvalue()
    for username, role in (("admin", "admin"), ("manager", "manager"), ("rep", "rep"), ("viewer", "viewer")):
        assert any(line.split()[:3] == [username, "demo", role] for line in text.splitlines())
    org = Organization.objects.get(slug=DEMO_SLUG)
    assert recompute_calls == [(org.id, None, "2026-11-23")]


@pytest.mark.django_db
def test_command_without_recompute_sends_none(recompute_calls):
    call_command("seed_demo", "--today", "2026-11-23", "--size", "small", "--no-recompute", stdout=StringIO())
    assert recompute_calls == []
    assert not ScopeRollup.objects.exists()


@pytest.mark.django_db
def test_command_rejects_a_malformed_day():
    with pytest.raises(CommandError, match="ISO date"):
        call_command("seed_demo", "--today", "23/11/2026", "--no-recompute", stdout=StringIO())


# --- the shape of the organisation ----------------------------------------------------------------


@pytest.mark.django_db
def test_territory_tree_has_three_levels(demo):
    depths = Counter(Territory.objects.filter(org=demo).values_list("depth", flat=True))
    assert depths[1] == 1
    assert 3 <= depths[2] <= 4
    assert 2 * depths[2] <= depths[3] <= 3 * depths[2]
    for region in Territory.objects.filter(org=demo, depth=2):
        assert 2 <= Territory.objects.filter(depth=3, path__startswith=region.path).count() <= 3


@pytest.mark.django_db
def test_about_forty_reps_with_hires_leavers_and_moves(demo):
    reps = Rep.objects.filter(org=demo)
    assert 35 <= reps.count() <= 45
    assert reps.filter(leave_date__isnull=False).exists()
    assert reps.filter(leave_date__range=(CURRENT_QUARTER.start, TODAY)).exists()
    assert reps.filter(hire_date__gte=date(2025, 1, 1)).exists()
    movers = reps.annotate(n=Count("assignments")).filter(n__gte=2)
    assert movers.exists()
    for rep in movers:
        spans = list(rep.assignments.order_by("start"))
        for before, after in zip(spans, spans[1:], strict=False):
            assert before.end is not None and (after.start - before.end).days == 1
            assert before.territory_id != after.territory_id


@pytest.mark.django_db
def test_users_exist_with_the_right_memberships(demo):
    users = {u.username: u for u in get_user_model().objects.filter(email__endswith=DEMO_EMAIL_DOMAIN)}
    assert set(users) == {"admin", "manager", "rep", "viewer"}
    for user in users.values():
        assert user.check_password("demo")
    assert {name for name, u in users.items() if u.is_staff or u.is_superuser} == {"admin"}
    roles = {m.user.username: m for m in Membership.objects.filter(org=demo).select_related("user")}
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
    assert rep.assignments.get(end__isnull=True).territory.path.startswith(region.path)


# --- opportunities use every field ----------------------------------------------------------------


@pytest.mark.django_db
def test_every_stage_channel_and_poc_value_appears(demo):
    deals = Opportunity.objects.filter(org=demo)
    assert set(deals.values_list("stage", flat=True)) == set(Stage.values)
    assert set(deals.values_list("channel", flat=True)) == set(Channel.values)
    assert set(deals.values_list("poc", flat=True)) == set(Poc.values)


@pytest.mark.django_db
def test_history_spans_two_years_up_to_today(demo):
    deals = Opportunity.objects.filter(org=demo)
    closed = deals.exclude(close_date=None).values_list("close_date", flat=True)
    assert min(closed) <= date(2024, 1, 31) and max(closed) <= TODAY
    assert max(deals.exclude(engage_date=None).values_list("engage_date", flat=True)) <= TODAY
    assert deals.count() > 2000


@pytest.mark.django_db
def test_current_quarter_is_live(demo):
    in_quarter = Opportunity.objects.filter(org=demo, close_date__range=(CURRENT_QUARTER.start, TODAY))
    assert in_quarter.filter(stage=Stage.WON).count() >= 10
    assert in_quarter.filter(stage=Stage.LOST).exists()
    open_deals = Opportunity.objects.filter(org=demo, stage__in=OPEN_STAGES)
    assert open_deals.count() >= 50
    assert open_deals.filter(amount__isnull=True).exists()  # the list-price fallback matters
    assert open_deals.filter(amount__isnull=False).exists()


@pytest.mark.django_db
def test_multi_product_deals_span_product_lines(demo):
    deals = Opportunity.objects.filter(org=demo).prefetch_related("products")
    lines = [{p.line for p in d.products.all()} for d in deals]
    assert all(lines)
    assert sum(1 for ls in lines if len(ls) >= 2) >= 50
    assert len(set().union(*lines)) >= 4


@pytest.mark.django_db
def test_partners_plays_identification_and_profit(demo):
    deals = Opportunity.objects.filter(org=demo)
    assert not deals.filter(channel=Channel.PARTNER, partner=None).exists()
    assert not deals.filter(channel=Channel.DIRECT, partner__isnull=False).exists()
    assert deals.filter(strategic_play__isnull=False, stage=Stage.WON).exists()
    assert deals.filter(strategic_play__isnull=False, stage=Stage.LOST).exists()
    assert deals.filter(identified_by__isnull=False).exclude(identified_by=F("rep")).exists()
    assert deals.filter(identified_by=F("rep")).exists()
    assert deals.filter(rep=None).exists()  # house accounts
    assert not deals.filter(stage=Stage.WON, profit=None).exists()
    assert not deals.exclude(stage=Stage.WON).filter(profit__isnull=False).exists()


@pytest.mark.django_db
def test_poc_outcomes_are_realistic(demo):
    deals = Opportunity.objects.filter(org=demo)
    success, failure = deals.filter(poc=Poc.SUCCESS), deals.filter(poc=Poc.FAILURE)

    def win(qs) -> float:
        return qs.filter(stage=Stage.WON).count() / qs.filter(stage__in=[Stage.WON, Stage.LOST]).count()

    assert win(success) > win(deals) > win(failure)
    assert success.filter(stage=Stage.LOST).exists()
    assert success.filter(stage__in=OPEN_STAGES).exists()
    assert not deals.filter(poc=Poc.RUNNING, stage__in=[Stage.WON, Stage.LOST]).exists()


@pytest.mark.django_db
def test_technical_deliverables_are_used_more_in_wins(demo):
    def share(stage: str) -> float:
        closed = Opportunity.objects.filter(org=demo, stage=stage)
        return closed.filter(deliverables__isnull=False).distinct().count() / closed.count()

    assert share(Stage.WON) > share(Stage.LOST) + 0.05


# --- people -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_certifications_of_every_category_some_expired(demo):
    certs = Certification.objects.filter(org=demo)
    assert set(certs.values_list("type__category", flat=True)) == set(CertificationCategory.values)
    assert certs.filter(expires__lt=TODAY).exists()
    assert certs.filter(expires__gte=TODAY).exists()
    assert certs.filter(expires=None).exists()
    assert not certs.filter(earned__gt=TODAY).exists()


@pytest.mark.django_db
def test_programme_participation_of_every_kind(demo):
    kinds = set(ProgramParticipation.objects.filter(org=demo).values_list("program__kind", flat=True))
    assert kinds == set(ProgramKind.values)


# --- targets, measurements, notes -----------------------------------------------------------------


@pytest.mark.django_db
def test_every_template_kpi_has_a_target(demo):
    with_target = set(Target.objects.filter(org=demo).values_list("kpi__slug", flat=True))
    assert {spec["slug"] for spec in KPIS} <= with_target


@pytest.mark.django_db
def test_targets_use_the_kpi_default_goal(demo):
    root = demo.root_territory()
    for kpi in KPI.objects.filter(org=demo, default_goal__isnull=False).exclude(unit="count"):
        if kpi.slug in ("market_share", "rep_turnover"):
            continue  # scaled per period length
        target = Target.objects.get(kpi=kpi, territory=root, period=CURRENT_QUARTER.key, superseded_at=None)
        assert target.goal == kpi.default_goal
        assert target.reason and target.set_by is not None


@pytest.mark.django_db
def test_quotas_for_every_rep_and_team_per_quarter_and_year(demo):
    quota = Target.objects.filter(org=demo, kpi__slug="won_revenue", superseded_at=None)
    year = str(TODAY.year)
    active = Rep.objects.filter(org=demo, leave_date=None)
    for key in (CURRENT_QUARTER.key, year):
        assert set(quota.filter(period=key, rep__isnull=False).values_list("rep", flat=True)) >= set(
            active.values_list("pk", flat=True)
        )
        teams = Territory.objects.filter(org=demo, depth=3)
        assert quota.filter(period=key, territory__in=teams).count() == teams.count()
    for key in ("2024", "2024-Q1", "2025-Q4"):
        assert quota.filter(period=key, territory__depth=3).exists()


@pytest.mark.django_db
def test_some_target_has_history(demo):
    old = Target.objects.filter(org=demo, superseded_at__isnull=False)
    assert old.exists()
    for target in old:
        current = Target.objects.get(
            kpi=target.kpi,
            territory=target.territory,
            rep=target.rep,
            period=target.period,
            superseded_at=None,
        )
        assert current.goal != target.goal
        assert target.set_at < target.superseded_at <= current.set_at


@pytest.mark.django_db
def test_every_manual_kpi_has_measurements_per_team_and_quarter(demo):
    manual = [spec["slug"] for spec in KPIS if spec["source"] == "manual"]
    teams = Territory.objects.filter(org=demo, depth=3).count()
    regions = Territory.objects.filter(org=demo, depth=2).count()
    previous = CURRENT_QUARTER.previous().key
    for slug in manual:
        rows = Measurement.objects.filter(org=demo, kpi__slug=slug, period=previous)
        assert rows.filter(territory__depth=3).count() == teams, slug
    for slug in ("employee_engagement", "skill_assessment"):
        rows = Measurement.objects.filter(org=demo, kpi__slug=slug, period=previous)
        assert rows.filter(territory__depth=2).count() == regions
    assert Measurement.objects.filter(org=demo, kpi__slug="skill_assessment", rep__isnull=False).exists()
    assert Measurement.objects.filter(org=demo, kpi__slug="nps", period=CURRENT_QUARTER.key).exists()


@pytest.mark.django_db
def test_coaching_notes_and_action_items(demo):
    kinds = Counter(Note.objects.filter(org=demo).values_list("kind", flat=True))
    assert kinds["coaching"] >= 1 and kinds["action"] >= 1
    assert Note.objects.filter(org=demo, kind="action", done=False, due_date__gt=TODAY).exists()


# --- a manager has something to find ----------------------------------------------------------------


@pytest.mark.django_db
def test_some_teams_and_reps_underperform_and_revenue_grows(demo):
    def won(**scope) -> float:
        deals = Opportunity.objects.filter(org=demo, stage=Stage.WON, **scope)
        return float(deals.aggregate(total=Sum("amount"))["total"] or 0)

    assert won(close_date__year=2025) > won(close_date__year=2024) * 1.03

    year = "2025"
    attainment = {}
    for target in Target.objects.filter(
        org=demo, kpi__slug="won_revenue", period=year, rep__isnull=False, superseded_at=None
    ):
        attainment[target.rep_id] = won(rep_id=target.rep_id, close_date__year=2025) / float(target.goal)
    assert sum(1 for a in attainment.values() if a < 0.6) >= 3
    assert sum(1 for a in attainment.values() if a >= 1) >= len(attainment) // 3
