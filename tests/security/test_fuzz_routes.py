"""Every URL pattern, as every persona, with hostile parameters (issue 13, item 7).

The routes come from the URL resolver, so a new page is fuzzed without touching this file. Each
route is one test (its id names the route); inside it every persona GETs the route with ids of both
organisations, huge, negative and junk values and hostile query strings, then POSTs empty and hostile
bodies. Asserted for every response: no 5xx; the outsider (Globex's admin) sees no Acme names and
Acme's people see no Globex names; a script payload never comes back unescaped; anonymous visitors
of a non-public route are sent to the login page; another organisation's object is never a 200.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from imports.models import ImportJob
from kpis.models import KPI, Note
from people.models import Certification, CertificationType, Program, ProgramParticipation
from perspectives.models import Objective, Perspective
from sales.models import Product
from scorecard.models import Membership
from tests.conftest_personas import World

pytest_plugins = ["tests.conftest_personas"]

SKIPPED_PREFIXES = ("admin/", "static/", "media/")
# Reachable without signing in; everything else must send an anonymous visitor to the login page.
PUBLIC = {"login", "logout", "password_reset_confirm", "password_reset_complete", "healthz", "readyz"}
PERSONAS = ["admin", "manager", "rep", "viewer", "outsider", "nobody", "anonymous"]

XSS = "<script>alert(1)</script>"
HOSTILE_QUERIES = [
    {"period": "2024-Q9", "territory": "{other_territory}", "rep": "-1", "page": "999999"},
    {"period": "' OR 1=1--", "kpi": XSS, "q": "<svg onload=alert(1)>", "format": "xlsx"},
    {"period": "9" * 30, "territory": str(2**63), "rep": "{other_rep}", "scope": "x'; DROP TABLE x;--"},
]
HOSTILE_BODIES: list[dict[str, str]] = [
    {},
    {
        "name": XSS,
        "territory": "{other_territory}",
        "rep": "{other_rep}",
        "kpi": "{other_kpi}",
        "period": "2024-Q9",
        "amount": "-1e309",
        "text": XSS,
        "value": "NaN",
        "pk": str(2**63),
        "role": "admin",
        "org": "{other_org}",
        "parent": "{other_territory}",
    },
]

ACME_NAMES = ["Nordics", "Iberia", "Nora Nordin", "Sergio Sanz", "NORA-0", "SERGIO-0", "Acme Secret"]
GLOBEX_NAMES = ["Globex HQ", "Gustav Globex", "GUS-0", "Globex Secret", "Globex Outsider Org"]


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield Route(prefix + str(p.pattern), p.name or p.lookup_str)


ROUTES = [r for r in _walk(get_resolver().url_patterns) if not r.pattern.startswith(SKIPPED_PREFIXES)]

# Which model a route's <int:pk> names; a pk route missing here fails the completeness test below.
PK_MODELS: dict[str, str] = {
    "note_done": "note",
    "designer_perspective": "perspective",
    "designer_objective": "objective",
    "designer_kpi": "kpi",
    "manage_user": "membership",
    "territory_change": "territory",
    "manage_rep": "rep",
    "manage_product": "product",
    "import_job": "import_job",
    "opportunity_edit": "opportunity",
    "opportunity_delete": "opportunity",
    "certification_edit": "certification",
    "participation_edit": "participation",
}

CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def _objects(world: World) -> dict[str, dict[str, Any]]:
    """One object of each kind per organisation: {"acme": {...}, "globex": {...}}."""
    out: dict[str, dict[str, Any]] = {}
    for key, org, terr, rep, deal, secret in [
        ("acme", world.org, world.territories["nordics"], world.reps["nora"], "nora", "Acme Secret"),
        (
            "globex",
            world.other_org,
            world.territories["globex_hq"],
            world.reps["gus"],
            "gus",
            "Globex Secret",
        ),
    ]:
        kpi = KPI.objects.filter(org=org).order_by("pk").first()
        perspective = Perspective.objects.filter(org=org).order_by("pk").first()
        objective = Objective.objects.filter(org=org).order_by("pk").first()
        ctype = CertificationType.objects.create(org=org, name=f"{secret} cert", category="product")
        program = Program.objects.create(org=org, name=f"{secret} programme", kind="education")
        objs = {
            "org": org,
            "territory": terr,
            "rep": rep,
            "opportunity": world.opportunities[deal],
            "kpi": kpi,
            "perspective": perspective,
            "objective": objective,
            "membership": Membership.objects.filter(org=org).order_by("pk").first(),
            "product": Product.objects.create(org=org, name=f"{secret} product", line=f"{secret} line"),
            "note": Note.objects.create(org=org, period="2024-Q1", kpi=kpi, text=f"{secret} note"),
            "import_job": ImportJob.objects.create(org=org, kind="opportunities", file_name=f"{secret}.csv"),
            "certification": Certification.objects.create(
                org=org, rep=rep, type=ctype, earned=date(2024, 1, 1)
            ),
            "participation": ProgramParticipation.objects.create(
                org=org, rep=rep, program=program, start=date(2024, 1, 1)
            ),
        }
        out[key] = objs
    return out


def _paths(route: Route, objs: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, path) pairs: the route filled with Acme's and Globex's objects, then hostile values."""
    model = PK_MODELS.get(route.name)
    acme_kpi, globex_kpi = objs["acme"]["kpi"], objs["globex"]["kpi"]

    def fill(value_for: dict[str, str]) -> str:
        return "/" + CONVERTER.sub(lambda m: value_for.get(m["name"], "x"), route.pattern)

    if not CONVERTER.search(route.pattern):
        return [("plain", "/" + route.pattern)]
    variants: list[tuple[str, dict[str, str]]] = []
    if model:
        variants += [
            ("acme", {"pk": str(objs["acme"][model].pk)}),
            ("globex", {"pk": str(objs["globex"][model].pk)}),
        ]
    variants += [
        ("acme", {"slug": acme_kpi.slug if acme_kpi else "x", "kind": "reps", "fmt": "csv"}),
        ("globex", {"slug": globex_kpi.slug if globex_kpi else "x", "kind": "reps", "fmt": "xlsx"}),
        (
            "junk",
            {"pk": str(2**63), "slug": "a" * 300, "kind": "..", "fmt": "exe", "uidb64": "MQ", "token": "x"},
        ),
        (
            "junk",
            {"pk": "0", "slug": "-", "kind": "opportunities", "fmt": "xlsx", "uidb64": "!!", "token": XSS},
        ),
        (
            "junk",
            {
                "pk": "-1",
                "slug": "%27%20OR%201%3D1--",
                "kind": "x",
                "fmt": "csv",
                "uidb64": "-1",
                "token": "-",
            },
        ),
    ]
    seen: dict[str, str] = {}
    for label, values in variants:
        seen.setdefault(fill(values), label)
    return [(label, path) for path, label in seen.items()]


def _substitute(data: dict[str, str], objs: dict[str, dict[str, Any]], other: str) -> dict[str, str]:
    ids = {
        "other_territory": str(objs[other]["territory"].pk),
        "other_rep": str(objs[other]["rep"].pk),
        "other_kpi": str(objs[other]["kpi"].pk if objs[other]["kpi"] else 999999),
        "other_org": str(objs[other]["org"].pk),
    }
    return {k: v.format(**ids) if "{" in v and "<" not in v else v for k, v in data.items()}


def _resolves(url: str) -> bool:
    """Whether the path reaches a view at all (a negative id or a bad slug is the resolver's 404)."""
    try:
        resolve(url.split("?")[0].split(" ")[0])
    except Resolver404:
        return False
    return True


def _check(response: Any, persona: str, route: Route, label: str, method: str, url: str) -> None:
    where = f"{method} {url} as {persona}"
    allowed_5xx = route.name == "readyz" and response.status_code == 503
    assert response.status_code < 500 or allowed_5xx, f"{where}: {response.status_code}"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    assert XSS not in text, f"{where}: unescaped script payload"
    forbidden = {"outsider": ACME_NAMES, "nobody": ACME_NAMES + GLOBEX_NAMES}.get(persona, GLOBEX_NAMES)
    if persona not in ("anonymous",):
        leaked = [name for name in forbidden if name in text]
        assert not leaked, f"{where}: shows the other organisation's {leaked}"
    # A POST-only route may refuse a GET (405) before asking who is there.
    if persona == "anonymous" and route.name not in PUBLIC and response.status_code != 405 and _resolves(url):
        assert response.status_code == 302, f"{where}: {response.status_code}"
        assert "/accounts/login/" in response["Location"], f"{where}: to {response['Location']}"
    other = "acme" if persona == "outsider" else "globex"
    if persona != "anonymous" and label == other and route.name in PK_MODELS:
        assert response.status_code in (302, 403, 404, 405), (
            f"{where}: {response.status_code} for a foreign id"
        )


def test_every_route_with_a_pk_names_its_model() -> None:
    unmapped = [r.name for r in ROUTES if "<int:pk>" in r.pattern and r.name not in PK_MODELS]
    assert not unmapped, f"add these routes to PK_MODELS: {unmapped}"


def test_the_leak_check_would_see_a_leak(world: World, client: Any) -> None:
    """The names the fuzzing looks for do appear on pages of their own organisation, so their absence
    elsewhere means something."""
    client.force_login(world.users["admin"])
    assert "Nordics" in client.get("/manage/territories/").content.decode()
    client.force_login(world.users["outsider"])
    assert "Globex HQ" in client.get("/manage/territories/").content.decode()
    assert "Nordics" not in client.get("/manage/territories/").content.decode()


def test_routes_are_enumerated() -> None:
    names = {r.name for r in ROUTES}
    assert {"home", "opportunity_edit", "kpi_detail", "export", "healthz"} <= names
    assert not any(r.pattern.startswith("admin/") for r in ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_route_survives_hostile_requests_per_persona(route: Route, world: World, client: Any) -> None:
    objs = _objects(world)
    paths = _paths(route, objs)
    for persona in PERSONAS:
        client.logout()
        if persona != "anonymous":
            client.force_login(world.users[persona])
        other = "acme" if persona == "outsider" else "globex"
        for label, path in paths:
            r = client.get(path)
            _check(r, persona, route, label, "GET", path)
        # Hostile query strings on the first path (the own organisation's object where there is one).
        label, path = paths[0]
        for query in HOSTILE_QUERIES:
            data = _substitute(query, objs, other)
            r = client.get(path, data)
            _check(r, persona, route, label, "GET", f"{path}?{data}")
        # POSTs last: they may change or delete the objects above. The foreign object first.
        for label, path in sorted(paths, key=lambda lp: lp[0] != other)[:2]:
            for body in HOSTILE_BODIES:
                data = _substitute(body, objs, other)
                r = client.post(path, data)
                _check(r, persona, route, label, "POST", f"{path} {data}")


# Findings of the fuzzing above, each held by its own test.


def test_import_pages_show_a_job_whose_uploader_is_gone(world: World, client: Any) -> None:
    """A job with no uploader (the user was deleted: SET_NULL) made the wizard and the job page 500:
    a ``default:`` filter argument through ``None`` raises in Django templates."""
    job = ImportJob.objects.create(org=world.org, kind="reps", file_name="orphan.csv", created_by=None)
    client.force_login(world.users["admin"])
    assert client.get("/manage/imports/").status_code == 200
    page = client.get(f"/manage/imports/{job.pk}/")
    assert page.status_code == 200
    assert "by —" in page.content.decode()
