"""Edit to page, end to end: a manager saves an edited deal through the deal edit form (a web request
through Django's test client, in this process), the change goes through Redis to a real Celery worker
process (started here on a private queue, against the same database), and the manager's scorecard page
(``/`` for the deal's team) is fetched until its won revenue shows the new figure. Timed from just before
the save to the page answer that shows it: cold (the first edit after a worker starts: it has no deals
kept) and warm (the worker already recomputed the organisation once)."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from sales.forms import OpportunityForm
from scorecard.celery import app
from scorecard.models import Membership, Organization, Role
from territories.models import Territory, TerritoryAssignment

from . import bench, recompute
from .models import RecomputeRequest, RollupRun, ScopeRollup
from .services import rollups_recompute

PERIOD = "2023-Q4"
QUARTER = (date(2023, 10, 1), date(2023, 12, 31))
FIGURE = re.compile(r'data-testid="actual-won_revenue">([^<]*)<')
# The deal form's plain fields (the many-to-many ones are lists, filled apart).
FORM_FIELDS = tuple(f for f in OpportunityForm.Meta.fields if f not in ("products", "deliverables"))
TIMEOUT = 180.0


class BenchError(RuntimeError):
    pass


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000),
        "p95_ms": round(percentile(samples, 0.95) * 1000),
        "max_ms": round(max(samples) * 1000),
    }


def _same_database() -> str:
    """DATABASE_URL naming the database this process uses (under pytest: the test database)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))


class Worker:
    """``celery -A scorecard worker --pool=solo`` on a private queue, as a child process of this one."""

    def __init__(self, queue: str, settle: float) -> None:
        self.queue = queue
        self.settle = settle
        self.log = Path(tempfile.gettempdir()) / f"scorecard-bench-worker-{queue}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.write_bytes(b"")
        env = {
            **os.environ,
            "DATABASE_URL": _same_database(),
            "CELERY_QUEUE": self.queue,
            # Its recomputes come on the private shard queue "<queue>-0" (``recompute.queue_for``).
            "SCORECARD_RECOMPUTE_QUEUE": self.queue,
            "SCORECARD_RECOMPUTE_SHARDS": "1",
            "SCORECARD_RECOMPUTE_SETTLE_SECONDS": str(self.settle),
        }
        celery = str(Path(sys.executable).with_name("celery"))
        queues = f"{self.queue},{self.queue}-0"
        command = [celery, "-A", "scorecard", "worker", "-Q", queues, "--pool=solo", "--concurrency=1"]
        command += ["-l", "info", "--without-gossip", "--without-mingle", "-n", f"{self.queue}@%h"]
        self.process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 120
        while b" ready." not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the worker did not start; its log: {self.log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def stored_organization(deals: int, profile: str) -> Organization:
    """The benchmark organisation (built when missing) with its rollups stored and nothing pending."""
    org = Organization.objects.filter(slug=bench.org_slug(deals, profile)).first()
    if org is None:
        previous = settings.SCORECARD_AUTO_RECOMPUTE
        settings.SCORECARD_AUTO_RECOMPUTE = False
        try:
            org = bench.build_org(bench.org_slug(deals, profile), deals, profile=profile)
        finally:
            settings.SCORECARD_AUTO_RECOMPUTE = previous
    if RecomputeRequest.objects.filter(org=org).exists() or not ScopeRollup.objects.filter(org=org).exists():
        rollups_recompute(org=org)
        RecomputeRequest.objects.filter(org=org).delete()
    return org


def _deal_and_team(org: Organization):
    """A won deal of the quarter with a rep, and the team its rep was in on the close date."""
    from sales.models import Opportunity

    for opp in Opportunity.objects.filter(
        org=org, stage="won", rep__isnull=False, close_date__range=QUARTER, amount__isnull=False
    ).order_by("pk")[:50]:
        if opp.rep_id is None:
            continue
        assignment = (
            TerritoryAssignment.objects.filter(org=org, rep_id=opp.rep_id, start__lte=opp.close_date)
            .exclude(end__lt=opp.close_date)
            .select_related("territory")
            .first()
        )
        if assignment is not None:
            return opp, assignment.territory
    raise BenchError(f"no won deal with a rep in {PERIOD}")


def _manager_client(org: Organization, team: Territory) -> Client:
    """Signed in as a manager of the team's region (who may edit the region's deals)."""
    region = Territory.objects.get(org=org, path=team.path[: 2 * Territory.steplen])
    user, _ = get_user_model().objects.get_or_create(username=f"bench-manager-{org.pk}")
    Membership.objects.update_or_create(
        user=user, org=org, defaults={"role": Role.MANAGER, "territory": region, "rep": None}
    )
    client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost")
    client.force_login(user)
    return client


def form_data(opp, *, owner: bool = True) -> dict:
    """The deal form's fields as the deal has them (``owner``: with the rep, which a rep's own form has not)."""
    data: dict = {}
    for name in FORM_FIELDS:
        if name == "rep" and not owner:
            continue
        value = opp.serializable_value(name)  # a foreign key's id
        data[name] = "" if value is None else value.isoformat() if isinstance(value, date) else str(value)
    data["products"] = [str(pk) for pk in opp.products.values_list("pk", flat=True)]
    data["deliverables"] = [str(pk) for pk in opp.deliverables.values_list("pk", flat=True)]
    return data


def _figure(client: Client, url: str) -> str:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise BenchError(f"the scorecard answered {response.status_code}")
    found = FIGURE.search(response.content.decode())
    if found is None:
        raise BenchError("the scorecard shows no won revenue figure")
    return found.group(1)


def _drained(org: Organization) -> None:
    """Until nothing is pending for the organisation (the previous edit's recompute is over)."""
    deadline = time.monotonic() + TIMEOUT
    while (
        RecomputeRequest.objects.filter(org=org).exists()
        or cache.get(recompute.pending_key(org.pk)) is not None
        or cache.get(recompute.lock_key(org.pk)) is not None
    ):
        if time.monotonic() > deadline:
            raise BenchError("the worker did not finish the previous recompute")
        time.sleep(0.05)


def _edit(client: Client, opp, page: str, org: Organization, settle: float) -> tuple[float, float, float]:
    """Save the deal with a larger amount; the seconds until the page shows a new won revenue, the
    seconds the save's request took, and the worker's recompute seconds. Each edit starts once the
    previous recompute is over and the settle time has passed, as a user's separate edits do (an edit
    sooner than that is part of a burst, which waits for the settle time: ``recompute.settling``)."""
    _drained(org)
    time.sleep(settle)
    before = _figure(client, page)
    opp.refresh_from_db()
    data = form_data(opp)
    data["amount"] = str((opp.amount or Decimal(0)) + Decimal(1000))
    last_run = RollupRun.objects.filter(org=org).order_by("-pk").values_list("pk", flat=True).first()
    started = time.perf_counter()
    response = client.post(reverse("sales:opportunity_edit", args=[opp.pk]), data, secure=True)
    saved = time.perf_counter() - started
    if response.status_code != 302:
        raise BenchError(f"the deal form did not save ({response.status_code}): {response.content[:500]!r}")
    deadline = time.monotonic() + TIMEOUT
    while _figure(client, page) == before:
        if time.monotonic() > deadline:
            raise BenchError("the page never showed the new figure")
    shown = time.perf_counter() - started
    run = RollupRun.objects.filter(org=org, pk__gt=last_run or 0).order_by("-pk").first()
    return shown, saved, run.seconds if run is not None else float("nan")


def run(deals: int, edits: int, cold: int, settle: float | None, profile: str = "realistic") -> dict:
    if app.conf.task_always_eager or not settings.CELERY_BROKER_URL:
        raise BenchError("needs a broker: set CELERY_BROKER_URL (and REDIS_URL) to a running Redis")
    if connection.vendor == "sqlite":
        raise BenchError("needs a database server the worker can share: set DATABASE_URL to PostgreSQL")
    settle = settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS if settle is None else settle
    load_before = os.getloadavg()
    org = stored_organization(deals, profile)
    opp, team = _deal_and_team(org)
    client = _manager_client(org, team)
    page = f"{reverse('home')}?period={PERIOD}&territory={team.pk}"
    queue = f"bench-edit-{uuid.uuid4().hex[:8]}"
    previous = (
        app.conf.task_default_queue,
        settings.SCORECARD_AUTO_RECOMPUTE,
        settings.SCORECARD_RECOMPUTE_QUEUE,
        settings.SCORECARD_RECOMPUTE_SHARDS,
    )
    app.conf.task_default_queue, settings.SCORECARD_AUTO_RECOMPUTE = queue, True
    # This process's saves send their recomputes to the worker's private shard queue.
    settings.SCORECARD_RECOMPUTE_QUEUE, settings.SCORECARD_RECOMPUTE_SHARDS = queue, 1
    cold_samples: list[tuple[float, float, float]] = []
    warm_samples: list[tuple[float, float, float]] = []
    worker = Worker(queue, settle)
    try:
        for i in range(max(cold, 1)):
            worker.start()
            cold_samples.append(_edit(client, opp, page, org, settle))
            if i < max(cold, 1) - 1:
                worker.stop()
        for _ in range(edits):
            warm_samples.append(_edit(client, opp, page, org, settle))
        _drained(org)
    finally:
        worker.stop()
        app.conf.task_default_queue, settings.SCORECARD_AUTO_RECOMPUTE = previous[:2]
        settings.SCORECARD_RECOMPUTE_QUEUE, settings.SCORECARD_RECOMPUTE_SHARDS = previous[2:]
    return {
        "deals": deals,
        "profile": profile,
        "db": connection.vendor,
        "settle_seconds": settle,
        "cold": summary([s[0] for s in cold_samples]),
        "warm": summary([s[0] for s in warm_samples]),
        "save_request": summary([s[1] for s in cold_samples + warm_samples]),
        "worker_recompute_cold": summary([s[2] for s in cold_samples]),
        "worker_recompute_warm": summary([s[2] for s in warm_samples]),
        "page": page,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
