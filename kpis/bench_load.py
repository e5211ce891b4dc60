"""The load test's two ends: the people who sign in (managers over regions and areas, reps with deals
to edit, each with a password, written to a file the locust scenario reads), and the check afterwards
that the stored rollups are what a fresh recompute of every period stores."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction

from sales.models import Opportunity
from scorecard.models import Membership, Organization, Role
from territories.models import Rep, Territory, TerritoryAssignment

from . import recompute
from .bench_edit import PERIOD, QUARTER, form_data, stored_organization
from .models import KPI, RecomputeRequest, ScopeRollup
from .rollup import warm
from .services import rollups_recompute

USER_PREFIX = "load-"
DEALS_PER_REP = 5


def setup(deals: int, managers: int, reps: int, profile: str = "realistic") -> dict:
    """The organisation (built when missing, its rollups stored) and the load users; what the locust
    scenario needs to know: the host-independent URLs' parameters and every user's password."""

    org = stored_organization(deals, profile)
    with transaction.atomic():
        get_user_model().objects.filter(username__startswith=USER_PREFIX, memberships__org=org).delete()
        people = {"managers": _managers(org, managers), "reps": _reps(org, reps)}
    return {
        "org": org.slug,
        "period": PERIOD,
        "kpis": list(KPI.objects.filter(org=org, active=True).order_by("pk").values_list("slug", flat=True)),
        **people,
    }


def _user(username: str):
    password = secrets.token_urlsafe(12)
    user = get_user_model().objects.create_user(username=username, password=password)
    return user, password


def _managers(org: Organization, count: int) -> list[dict]:
    """Managers of the regions and areas in turn (depth 2 then 3), each with the territories below."""
    scopes = list(Territory.objects.filter(org=org, depth__in=(2, 3)).order_by("depth", "path"))
    out = []
    for i in range(count):
        scope = scopes[i % len(scopes)]
        user, password = _user(f"{USER_PREFIX}manager-{i + 1:03d}")
        Membership.objects.create(user=user, org=org, role=Role.MANAGER, territory=scope)
        below = Territory.objects.filter(org=org, path__startswith=scope.path).order_by("path")
        out.append(
            {
                "username": user.username,
                "password": password,
                "territories": list(below.values_list("pk", flat=True)[:40]),
            }
        )
    return out


def _reps(org: Organization, count: int) -> list[dict]:
    """Reps in a team on the quarter's last day, with won deals of the quarter to edit (their form data)."""
    last = QUARTER[1]
    in_team = TerritoryAssignment.objects.filter(org=org, start__lte=QUARTER[0]).exclude(end__lt=last)
    candidates = Rep.objects.filter(org=org, leave_date__isnull=True, pk__in=in_team.values("rep_id"))
    out: list[dict] = []
    for rep in candidates.order_by("pk")[: count * 2]:
        deals = list(
            Opportunity.objects.filter(org=org, rep=rep, stage="won", close_date__range=QUARTER)
            .exclude(amount=None)
            .order_by("pk")[:DEALS_PER_REP]
        )
        if not deals:
            continue
        user, password = _user(f"{USER_PREFIX}rep-{len(out) + 1:03d}")
        Membership.objects.create(user=user, org=org, role=Role.REP, rep=rep)
        out.append({"username": user.username, "password": password, "deals": [_form(o) for o in deals]})
        if len(out) == count:
            break
    return out


def _form(opp: Opportunity) -> dict:
    """A rep's own deal form: no owner field."""
    return {"id": opp.pk, **form_data(opp, owner=False)}


def write(spec: dict, path: Path) -> None:
    path.write_text(json.dumps(spec, indent=1))
    path.chmod(0o600)  # passwords


def wait_until_settled(org: Organization, timeout: float) -> bool:
    """Until no recompute is pending, queued or running for the organisation; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (
            RecomputeRequest.objects.filter(org=org).exists()
            or cache.get(recompute.pending_key(org.pk)) is not None
            or cache.get(recompute.lock_key(org.pk)) is not None
        ):
            return True
        time.sleep(0.5)
    return False


def _stored(org: Organization) -> dict[tuple, bytes]:
    return {
        (territory, rep, year): bytes(data)
        for territory, rep, year, data in ScopeRollup.objects.filter(org=org).values_list(
            "territory_id", "rep_id", "year", "data"
        )
    }


def rollups_differences(org: Organization) -> tuple[int, list[tuple]]:
    """Compare every stored rollup row with what a fresh recompute of every period stores (reading every
    row again, nothing kept in memory), inside a transaction rolled back afterwards: the rows compared, and
    the (territory id, rep id, year) keys that differ, are missing or are extra."""
    with transaction.atomic():
        before = _stored(org)
        warm.forget(org.pk)
        rollups_recompute(org=org)
        after = _stored(org)
        transaction.set_rollback(True)
    warm.forget(org.pk)
    differing = sorted(
        (key for key in before.keys() | after.keys() if before.get(key) != after.get(key)),
        key=lambda k: (k[2], k[0] or 0, k[1] or 0),
    )
    return len(after), differing
