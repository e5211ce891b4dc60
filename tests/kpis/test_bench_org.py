"""The realistic benchmark organisation fills every input the rollup engine reads, so the benchmark's
figures measure the real work: at 2,000 deals every table has rows and every KPI a figure at the root."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Count, F
from django.test import override_settings

from kpis import bench
from kpis.models import KPI, Measurement, Target
from kpis.services import rollups_recompute
from kpis.store import StoredRows
from kpis.template import KPIS
from people.models import Certification, CertificationType, ProgramParticipation
from sales.models import Account, Opportunity
from territories.models import Rep, Territory, TerritoryAssignment

YEAR = "2023"  # the benchmark's last year: leavers, expiries and open deals all fall in it


@pytest.fixture(scope="module")
def realistic(django_db_setup, django_db_blocker):
    """Built once for the module (it takes a while), inside a transaction rolled back afterwards (deleting
    it through the organisation would write a history row per target)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(SCORECARD_AUTO_RECOMPUTE=False):
                org = bench.build_org("bench-test", 2000, profile="realistic")
                rollups_recompute(org=org)
            yield org
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.mark.django_db
def test_realistic_builder_fills_every_input_of_the_engine(realistic):
    org = realistic
    deals = Opportunity.objects.filter(org=org)
    assert deals.count() == 2000
    filled = {
        "house deals": deals.filter(rep__isnull=True, territory__isnull=False).count(),
        "accounts": Account.objects.filter(org=org).count(),
        "deals with an account": deals.filter(account__isnull=False).count(),
        "deals across 2+ product lines": deals.annotate(lines=Count("products__line", distinct=True))
        .filter(lines__gte=2)
        .count(),
        "partner deals": deals.filter(channel="partner", partner__isnull=False).count(),
        "strategic-play deals": deals.filter(strategic_play__isnull=False).count(),
        "POCs": deals.exclude(poc="none").count(),
        "deals with deliverables": deals.filter(deliverables__isnull=False).distinct().count(),
        "identified by another rep": deals.exclude(identified_by=None)
        .exclude(identified_by=F("rep"))
        .count(),
        "deals with a profit": deals.filter(profit__isnull=False).count(),
        "open deals": deals.exclude(stage__in=["won", "lost"]).count(),
        "leavers": Rep.objects.filter(org=org, leave_date__isnull=False).count(),
        "moves": TerritoryAssignment.objects.filter(org=org, end__isnull=False).count(),
        "certifications expiring": Certification.objects.filter(org=org, expires__isnull=False).count(),
        "certifications not expiring": Certification.objects.filter(org=org, expires__isnull=True).count(),
        "programme participations": ProgramParticipation.objects.filter(org=org).count(),
        "team measurements": Measurement.objects.filter(org=org, territory__isnull=False).count(),
        "rep measurements": Measurement.objects.filter(org=org, rep__isnull=False).count(),
        "rep targets": Target.objects.filter(org=org, rep__isnull=False).count(),
    }
    assert {name: count for name, count in filled.items() if count == 0} == {}
    categories = set(
        Certification.objects.filter(org=org).values_list("type__category", flat=True).distinct()
    )
    assert categories == set(CertificationType.objects.filter(org=org).values_list("category", flat=True))
    assert categories == {"product", "industry", "customer_industry"}
    kinds = set(ProgramParticipation.objects.filter(org=org).values_list("program__kind", flat=True))
    assert kinds == {"diversity", "career_movement", "high_potential", "education", "training"}
    lines = set(
        Opportunity.products.through.objects.filter(opportunity__org=org).values_list(
            "product__line", flat=True
        )
    )
    assert len(lines) == 4


@pytest.mark.django_db
def test_every_kpi_has_a_target_at_every_level_of_the_tree(realistic):
    org = realistic
    targets = Target.objects.filter(org=org, period=YEAR)
    for depth in (1, 2, 3, 4):
        level = Territory.objects.filter(org=org, depth=depth)
        with_all = targets.filter(territory__in=level)
        missing = set(KPI.objects.filter(org=org).values_list("slug", flat=True)) - set(
            with_all.values_list("kpi__slug", flat=True)
        )
        assert missing == set(), f"depth {depth}"
        assert with_all.values("territory").distinct().count() == level.count()
    assert (
        targets.filter(rep__isnull=False, kpi__slug="won_revenue").count()
        == Rep.objects.filter(org=org).count()
    )


@pytest.mark.django_db
def test_every_kpi_has_a_non_zero_figure_and_a_goal_at_the_root(realistic):
    org = realistic
    root = ("t", org.root_territory().pk)
    stored = StoredRows(org, YEAR, [root])
    figures = {kpi.slug: stored.row(kpi, root) for kpi in KPI.objects.filter(org=org, active=True)}
    assert len(figures) == len(KPIS)
    assert {slug: f["actual"] for slug, f in figures.items() if not f["actual"]} == {}
    assert {slug for slug, f in figures.items() if f["goal"] is None} == set()
