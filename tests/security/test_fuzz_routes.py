"""Every URL pattern, as every persona, with hostile parameters (issue 13, item 7).

The routes come from the URL resolver, so a new page is fuzzed without touching this file. Each
route is one test (its id names the route); inside it every persona GETs the route with ids of both
organisations, huge, negative and junk values and hostile query strings, then POSTs empty and hostile
bodies. Asserted for every response: no 5xx; the outsider (Globex's admin) sees no Acme names and
Acme's people see no Globex names; a script payload never comes back unescaped; a page carries no
inline script or style attribute (the Content-Security-Policy would refuse it); anonymous visitors of a
non-public route are sent to the login page.

Who may open each route is the table ACCESS (a new route without an entry fails, and an entry must
agree with the roles the view's decorator lets through, ``allowed_roles`` in scorecard/decorators.py).
Each persona's plain request (the own organisation's object, the route's method) must answer exactly
the table's status; another organisation's object is 404 to those who may open the route and 403 or
404 to the others; and no hostile request lets a refused persona through (403, 404 or 405 only).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from imports.models import ImportJob
from kpis.models import KPI, Note, NoteKind
from people.models import Certification, CertificationType, Program, ProgramParticipation
from perspectives.models import Objective, Perspective
from sales.models import Account, Product
from scorecard.models import Membership, Role
from tests.conftest_personas import World

pytest_plugins = ["tests.conftest_personas"]

SKIPPED_PREFIXES = ("admin/", "static/", "media/")
PERSONAS = ["admin", "manager", "rep", "viewer", "outsider", "nobody", "anonymous"]
ROLES = {"admin", "manager", "rep", "viewer"}  # the personas with that role in Acme

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
    view: Any


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield Route(prefix + str(p.pattern), p.name or p.lookup_str, p.callback)


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

# Who gets through a route's gate. The outsider is Globex's admin, working in Globex; "nobody" is signed
# in without a membership; "anonymous" is not signed in.
MEMBERS = frozenset({"admin", "manager", "rep", "viewer", "outsider"})
WRITERS = MEMBERS - {"viewer"}  # data entry: a viewer reads only
READERS = MEMBERS - {"rep"}  # territory views: a rep sees no territory (404, as if it did not exist)
MANAGERS = frozenset({"admin", "manager", "outsider"})
ADMINS = frozenset({"admin", "outsider"})
SIGNED_IN = MEMBERS | {"nobody"}
EVERYONE = SIGNED_IN | {"anonymous"}
Q1 = "2024-Q1"


@dataclass(frozen=True)
class Access:
    """Who may open a route, and the status of each persona's plain request: the route's method, with
    ``data`` ("{rep}", "{territory}", "{org}" are the persona's own organisation's), on the own
    organisation's object."""

    allowed: frozenset[str]
    ok: int = 200  # for those let through
    refused: int = 403  # for the members who are not
    nobody: int = 403  # membership_required's "no organisation" page
    anonymous: int | None = None  # default: ``ok`` where anonymous is allowed, else 302 to the login page
    method: str = "GET"
    data: dict[str, str] = field(default_factory=dict)

    def expected(self, persona: str) -> int:
        if persona == "anonymous":
            if self.anonymous is not None:
                return self.anonymous
            return self.ok if "anonymous" in self.allowed else 302
        if persona in self.allowed:
            return self.ok
        return self.nobody if persona == "nobody" else self.refused


NOTE_SUBJECT = {"period": Q1, "rep": "{rep}"}
ACCESS: dict[str, Access] = {
    "home": Access(MEMBERS),
    "definitions": Access(MEMBERS),
    "strategy_map": Access(MEMBERS),
    "strategy_map_evidence": Access(READERS, refused=404),
    "compare": Access(READERS, refused=404),
    "notes": Access(MEMBERS, data=NOTE_SUBJECT),
    # Ticking off an action item: its owner, or whoever may write notes there (not a rep, not a viewer).
    "note_done": Access(MANAGERS, method="POST", ok=302, data={**NOTE_SUBJECT, "done": "1"}),
    "kpi_detail": Access(MEMBERS),
    "designer": Access(ADMINS),
    "designer_perspective": Access(ADMINS),
    "designer_objective_new": Access(ADMINS),
    "designer_objective": Access(ADMINS),
    "designer_kpi_new": Access(ADMINS),
    "designer_kpi": Access(ADMINS),
    "designer_formula_check": Access(ADMINS),
    "data_quality": Access(ADMINS),
    "measurement_grid": Access(MANAGERS),
    "target_grid": Access(MANAGERS),
    # Switching to one's own organisation; an organisation one is not a member of is 404.
    "org_switch": Access(MEMBERS, method="POST", ok=302, nobody=404, data={"org": "{org}"}),
    "org_create": Access(frozenset({"nobody"})),  # members of an organisation do not start another
    "manage": Access(ADMINS),
    "period_locks": Access(ADMINS),
    "manage_settings": Access(ADMINS),
    "manage_users": Access(ADMINS),
    "manage_user": Access(ADMINS),
    "manage_territories": Access(ADMINS),
    "territory_change": Access(
        ADMINS,
        method="POST",
        ok=302,
        data={"action": "rename", "rename-name": "Nordics", "rename-reason": "-"},
    ),
    "manage_reps": Access(ADMINS),
    "manage_rep": Access(ADMINS),
    "manage_products": Access(ADMINS),
    "manage_product": Access(ADMINS),
    "import_wizard": Access(ADMINS),
    "import_job": Access(ADMINS),
    "export": Access(ADMINS),
    "login": Access(EVERYONE, ok=302, anonymous=200),  # a signed-in visitor is sent on
    "logout": Access(EVERYONE, method="POST", ok=302),
    "two_factor": Access(SIGNED_IN, ok=302),  # no second step owed: sent on
    "two_factor_setup": Access(SIGNED_IN),
    "password_reset_confirm": Access(EVERYONE),  # a junk link shows the "invalid link" page
    "password_reset_complete": Access(EVERYONE),
    "healthz": Access(EVERYONE),
    "readyz": Access(EVERYONE),
    "opportunity_list": Access(MEMBERS),
    "opportunity_create": Access(WRITERS),
    "opportunity_edit": Access(WRITERS),
    "opportunity_delete": Access(WRITERS),
    # The deal form's account picker: whoever enters deals; "Secret" would find the other organisation's.
    "account_search": Access(WRITERS, data={"q": "Secret"}),
    "certification_list": Access(MEMBERS),
    "certification_create": Access(WRITERS),
    "certification_edit": Access(WRITERS),
    "participation_list": Access(MEMBERS),
    "participation_create": Access(WRITERS),
    "participation_edit": Access(WRITERS),
}
PUBLIC = {name for name, rule in ACCESS.items() if "anonymous" in rule.allowed}

# What the Content-Security-Policy refuses in a page (json_script's data blocks are not scripts).
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"
    r"""|<[a-z][\w-]*(?:\s+[^\s=>]+(?:=(?:"[^"]*"|'[^']*'|[^\s>'"]+))?)*?\s+(?:on[a-z]+|style)=""",
    re.IGNORECASE,
)
# A quick look for the words first: the full pattern reads every tag's attributes.
INLINE_HINT = re.compile(r"<script(?![^>]*\bsrc=)|\s(?:on[a-z]+|style)=", re.IGNORECASE)


def _inline_code(html: str) -> str | None:
    found = INLINE_HINT.search(html) and INLINE_CODE.search(html)
    return found.group(0) if found else None


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
            "account": Account.objects.create(org=org, external_id=f"{key}-1", name=f"{secret} account"),
            "note": Note.objects.create(
                org=org, period=Q1, kpi=kpi, rep=rep, kind=NoteKind.ACTION, text=f"{secret} note"
            ),
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
    status = response.status_code
    allowed_5xx = route.name == "readyz" and status == 503
    assert status < 500 or allowed_5xx, f"{where}: {status}"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    assert XSS not in text, f"{where}: unescaped script payload"
    forbidden = {"outsider": ACME_NAMES, "nobody": ACME_NAMES + GLOBEX_NAMES}.get(persona, GLOBEX_NAMES)
    if persona not in ("anonymous",):
        leaked = [name for name in forbidden if name in text]
        assert not leaked, f"{where}: shows the other organisation's {leaked}"
    if status == 200 and response.get("Content-Type", "").startswith("text/html"):
        inline = _inline_code(text)
        assert inline is None, f"{where}: inline code the Content-Security-Policy refuses: {inline}"
    rule = ACCESS[route.name]
    # A POST-only route may refuse a GET (405) before asking who is there.
    if persona == "anonymous" and route.name not in PUBLIC and status != 405 and _resolves(url):
        assert status == 302, f"{where}: {status}"
        assert "/accounts/login/" in response["Location"], f"{where}: to {response['Location']}"
    if persona != "anonymous" and persona not in rule.allowed:
        assert status in (403, 404, 405), f"{where}: {status}, but {persona} may not open {route.name}"
    other = "acme" if persona == "outsider" else "globex"
    if persona != "anonymous" and label == other and route.name in PK_MODELS:
        assert status in (302, 403, 404, 405), f"{where}: {status} for a foreign id"


def _own_ids(objs: dict[str, dict[str, Any]], own: str) -> dict[str, str]:
    return {key: str(objs[own][key].pk) for key in ("rep", "territory", "org")}


def _plain_requests(
    route: Route, objs: dict[str, dict[str, Any]], persona: str, client: Client, world: World
) -> set[str]:
    """The persona's plain request answers exactly the table's status; another organisation's object
    is 404 to those who may open the route (and 403 or 404 to the others). Returns the paths it GOT
    without parameters, which the fuzzing need not ask again."""
    rule = ACCESS[route.name]
    paths = _paths(route, objs)
    send = client.post if rule.method == "POST" else client.get
    own, other = ("globex", "acme") if persona == "outsider" else ("acme", "globex")
    data = {k: v.format(**_own_ids(objs, own)) for k, v in rule.data.items()}
    path = next((p for label, p in paths if label == own), None)
    path = path or next(p for label, p in paths if label in ("acme", "plain"))
    r = send(path, data)
    _check(r, persona, route, own, rule.method, path)
    assert r.status_code == rule.expected(persona), (
        f"{rule.method} {path} {data or ''} as {persona}: {r.status_code}, "
        f"but ACCESS[{route.name!r}] expects {rule.expected(persona)}"
    )
    asked = {path}
    foreign = next((p for label, p in paths if label == other), None)
    if route.name in PK_MODELS and foreign and persona != "anonymous":
        r = send(foreign, data)
        _check(r, persona, route, other, rule.method, foreign)
        expected = (404,) if persona in rule.allowed else (403, 404)
        assert r.status_code in expected, f"{rule.method} {foreign} as {persona}: {r.status_code}"
        asked.add(foreign)
    if rule.method == "POST":  # it may have signed the persona out (logout)
        _sign_in(client, world, persona)
        return set()
    return asked if not data else set()


def _sign_in(client: Client, world: World, persona: str) -> None:
    client.logout()
    if persona != "anonymous":
        client.force_login(world.users[persona])


def test_every_route_with_a_pk_names_its_model() -> None:
    unmapped = [r.name for r in ROUTES if "<int:pk>" in r.pattern and r.name not in PK_MODELS]
    assert not unmapped, f"add these routes to PK_MODELS: {unmapped}"


def test_every_route_says_who_may_open_it_as_its_decorator_does() -> None:
    """A new route needs an ACCESS entry; an entry lets through no role that the view's gate
    (membership_required, manager_required, admin_required) refuses, and exactly the gate's roles where
    the gate narrows them."""
    missing = [r.name for r in ROUTES if r.name not in ACCESS]
    assert not missing, f"add these routes to ACCESS (who may open them, what they answer): {missing}"
    assert set(ACCESS) <= {r.name for r in ROUTES}, "ACCESS names a route that is gone"
    for route in ROUTES:
        gate = getattr(route.view, "allowed_roles", None)
        if gate is None:
            continue  # no membership gate: a public page, or login_required only
        rule = ACCESS[route.name]
        through = rule.allowed & ROLES
        assert through <= set(gate), f"{route.name}: ACCESS lets {through - set(gate)} through, the gate not"
        if set(gate) != ROLES:
            assert through == set(gate), f"{route.name}: the gate lets {set(gate)} through, ACCESS {through}"
        assert not rule.allowed & {"anonymous", "nobody"}, f"{route.name}: the gate needs a membership"
        assert ("outsider" in rule.allowed) == ("admin" in rule.allowed), route.name


def test_the_gates_say_which_roles_they_let_through() -> None:
    gates = {r.name: getattr(r.view, "allowed_roles", None) for r in ROUTES}
    assert gates["home"] == set(Role)
    assert gates["target_grid"] == {Role.ADMIN, Role.MANAGER}
    assert gates["import_wizard"] == gates["territory_change"] == {Role.ADMIN}  # under other decorators
    assert gates["login"] is None and gates["healthz"] is None


def test_the_leak_check_would_see_a_leak(world: World, client: Any) -> None:
    """The names the fuzzing looks for do appear on pages of their own organisation, so their absence
    elsewhere means something."""
    client.force_login(world.users["admin"])
    assert "Nordics" in client.get("/manage/territories/").content.decode()
    client.force_login(world.users["outsider"])
    assert "Globex HQ" in client.get("/manage/territories/").content.decode()
    assert "Nordics" not in client.get("/manage/territories/").content.decode()


def test_the_inline_code_check_would_see_inline_code() -> None:
    for html in ["<script>x()</script>", '<p style="width: 5%">', '<a href="#" onclick="x()">', "<SCRIPT >"]:
        assert _inline_code(html), html
    for html in [
        '<script src="/static/js/a.js" defer></script>',
        '<script id="d" type="application/json">{"style": 1}</script>',
        '<svg viewBox="0 0 100 10"><rect width="50" height="10"></rect></svg>',
        "<p>style=&quot;x&quot; and onload= written as text</p>",
        '<input type="search" name="q" value="&lt;svg onload=alert(1)&gt;" data-x=\'a style=b\'>',
    ]:
        assert not _inline_code(html), html


def test_routes_are_enumerated() -> None:
    names = {r.name for r in ROUTES}
    assert {"home", "opportunity_edit", "kpi_detail", "export", "healthz"} <= names
    assert not any(r.pattern.startswith("admin/") for r in ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_route_survives_hostile_requests_per_persona(route: Route, world: World) -> None:
    objs = _objects(world)
    paths = _paths(route, objs)
    clients = {persona: Client() for persona in PERSONAS}  # one session each, signed in once
    # GETs first, every persona, before the hostile POSTs below may change or delete the objects.
    for persona, client in clients.items():
        _sign_in(client, world, persona)
        other = "acme" if persona == "outsider" else "globex"
        asked = _plain_requests(route, objs, persona, client, world)
        for label, path in paths:
            if path not in asked:
                _check(client.get(path), persona, route, label, "GET", path)
        # Hostile query strings on the first path (the own organisation's object where there is one).
        label, path = paths[0]
        for query in HOSTILE_QUERIES:
            data = _substitute(query, objs, other)
            r = client.get(path, data)
            _check(r, persona, route, label, "GET", f"{path}?{data}")
    # POSTs last: they may change or delete the objects above. The foreign object first.
    for persona, client in clients.items():
        other = "acme" if persona == "outsider" else "globex"
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
