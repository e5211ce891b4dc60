"""Page benchmark: the scorecard pages rendered from the stored rollups of the benchmark organisation
(``kpis.bench``), timed in-process through Django's test client (server time: middleware, access,
reads, rendering), side by side with one SELECT of the stored rows each page reads, in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from scorecard.models import Membership, Organization, Role
from territories.models import Territory

from . import bench
from .models import ScopeRollup
from .services import rollups_recompute
from .store import row_of

PERIOD = "2023-Q4"  # the last full quarter of the benchmark's data
PAGES = {  # name → (URL name, extra query, scope of its stored rows: the scope or the scope's children)
    "scorecard": ("home", {}, "scope"),
    "heatmap": ("compare", {}, "children"),
    "kpi detail": ("kpi_detail", {"slug": "won_revenue"}, "children"),
    "strategy map": ("strategy_map", {}, "scope"),
}


@dataclass
class Timing:
    page: str
    scope: str
    status: int
    queries: int
    p50_ms: float
    p95_ms: float
    select_p50_ms: float  # one SELECT of the page's stored rows

    def as_dict(self) -> dict:
        return {k: round(v, 1) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def organization(deals: int, profile: str = "realistic") -> Organization:
    """The benchmark organisation with ``deals`` deals and its rollups (reused when it exists)."""
    slug = bench.org_slug(deals, profile)
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        org = bench.build_org(slug, deals, profile=profile)
    rollups_recompute(org=org, period_keys=[PERIOD])
    return org


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _times(call: Callable[[], object], requests: int) -> list[float]:
    for _ in range(2):  # warm caches and templates
        call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(deals: int, requests: int = 30, profile: str = "realistic") -> list[Timing]:
    org = organization(deals, profile)
    user, _ = get_user_model().objects.get_or_create(username=f"bench-pages-{org.pk}")
    Membership.objects.get_or_create(user=user, org=org, defaults={"role": Role.ADMIN})
    client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost")
    client.force_login(user)
    root = org.root_territory()
    team = Territory.objects.filter(org=org).order_by("-depth", "path").first()
    year, _slot = row_of(org, PERIOD)
    timings = []
    for label, scope in (("root", root), ("team", team)):
        assert scope is not None
        children = list(Territory.objects.filter(org=org, path__startswith=scope.path, depth=scope.depth + 1))
        for page, (url_name, kwargs, rows_of) in PAGES.items():
            try:
                url = reverse(url_name, kwargs=kwargs or None)
            except NoReverseMatch:
                continue  # a page this version does not have
            query = {"period": PERIOD, "territory": scope.pk}
            scopes = children if rows_of == "children" and children else [scope]

            def get(url=url, query=query):
                return client.get(url, query)

            def select(scopes=scopes):
                return list(
                    ScopeRollup.objects.filter(org=org, territory__in=scopes, year=year).values_list(
                        "data", flat=True
                    )
                )

            reset_queries()  # a request resets the query log: start the count from an empty one
            with CaptureQueriesContext(connection) as queries:
                status = get().status_code
            if status != 200:
                raise RuntimeError(
                    f"{page} at the {label} answered {status}: the timing would be meaningless"
                )
            page_ms = _times(get, requests)
            select_ms = _times(select, requests)
            timings.append(
                Timing(
                    page,
                    label,
                    status,
                    len(queries),
                    statistics.median(page_ms),
                    _percentile(page_ms, 0.95),
                    statistics.median(select_ms),
                )
            )
    return timings
