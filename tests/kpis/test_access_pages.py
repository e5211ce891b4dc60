"""Who may open the manager pages of issue 11, and what each page lets slip, page by page.

Pages (kpis/urls.py): the scorecard ``/``, the comparison ``/compare/``, the KPI detail ``/kpi/<slug>/``,
the strategy map and its evidence, the notes panel (and ticking off an action item), the definitions.

- anonymous visitors go to the login page;
- a manager of one region gets 404 on the other region's territories and reps, and never reads their
  names on the own region's pages (both regions' managers, so neither direction depends on the
  names' order);
- read-only members (viewers, reps) get 403 on the notes writes;
- a rep sees their own figures only: another rep is a 404, and so is any territory's figures (a
  territory's figures and the deals behind them include colleagues').

Personas: tests/conftest_personas.py (Manny manages Nordics, Isabel manages Iberia).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.models import KPI, Note, NoteKind
from kpis.services import note_create, rollups_recompute
from scorecard.models import Membership
from tests.factories import OpportunityFactory, RepFactory

pytest_plugins = ["tests.conftest_personas"]

PERIOD = "2024-Q1"  # the quarter of the personas' won deals
KPI_SLUG = "won_revenue"

# Every page with the scope parameters it takes (each also takes ?period=).
PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "scorecard": (reverse("home"), ("territory", "rep")),
    "compare": (reverse("compare"), ("territory",)),
    "kpi_detail": (reverse("kpi_detail", args=[KPI_SLUG]), ("territory", "rep")),
    "strategy_map": (reverse("strategy_map"), ("territory", "rep")),
    "strategy_map_evidence": (reverse("strategy_map_evidence"), ("territory",)),
    "notes": (reverse("notes"), ("territory", "rep")),
    "definitions": (reverse("definitions"), ("territory",)),
}
SCOPED = [(page, kind) for page, (_path, kinds) in PAGES.items() for kind in kinds]
WITHOUT_SCOPE = [page for page in PAGES if page != "notes"]  # a note panel is always about something

# Each manager's region, its team and its rep (world keys), and the names only that region's pages show.
REGIONS = {
    "manager": {"territory": ("nordics", "stockholm"), "rep": ("nora",)},
    "other_manager": {"territory": ("iberia", "madrid"), "rep": ("sergio",)},
}
NAMES = {
    "manager": ("Nordics", "Stockholm", "Nora Nordin"),
    "other_manager": ("Iberia", "Madrid", "Sergio Sanz", "Ines Iberia-Owner"),
}
OTHER = {"manager": "other_manager", "other_manager": "manager"}
OUTSIDER_NAMES = ("Globex", "Gustav")  # the other organisation's


def _url(page: str, **params) -> str:
    path, _kinds = PAGES[page]
    query = "&".join(f"{k}={v}" for k, v in {"period": PERIOD, **params}.items())
    return f"{path}?{query}"


def _scope(world, kind: str, key: str):
    return world.territories[key] if kind == "territory" else world.reps[key]


def _member(world, persona: str) -> Membership:
    return Membership.objects.get(user=world.users[persona], org=world.org)


@pytest.fixture
def notes(world) -> dict[str, Note]:
    """An action item on each rep (owned by the admin) and a review comment on each team, by the admin."""
    admin = _member(world, "admin")
    kpi = KPI.objects.get(org=world.org, slug=KPI_SLUG)
    made = {}
    for rep, team in (("nora", "stockholm"), ("sergio", "madrid")):
        made[rep] = note_create(
            membership=admin,
            kind=NoteKind.ACTION,
            period=PERIOD,
            text=f"action-{rep}",
            rep=world.reps[rep],
            owner=world.users["admin"],
        )
        made[team] = note_create(
            membership=admin,
            kind=NoteKind.COMMENT,
            period=PERIOD,
            text=f"comment-{team}",
            territory=world.territories[team],
            kpi=kpi,
        )
    return made


@pytest.fixture
def stored(world, notes):
    rollups_recompute(org=world.org)
    return world


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.content.decode()


# --- (e) a rep sees their own figures only --------------------------------------------------------


@pytest.fixture
def colleague(world):
    """Kim, Nora's colleague in Stockholm, with a won deal of 7,777 in the period."""
    kim = RepFactory.create(org=world.org, name="Kim Colleague", territory=world.territories["stockholm"])
    OpportunityFactory.create(rep=kim, external_id="KIM-WON", amount=Decimal(7777), won=True)
    rollups_recompute(org=world.org)
    return kim


def test_a_rep_opens_the_own_figures_and_never_a_colleagues(world, login, colleague):
    client = login("rep")
    nora = world.reps["nora"]
    own = [
        _url("scorecard"),
        _url("scorecard", rep=nora.pk),
        _url("kpi_detail"),
        _url("kpi_detail", rep=nora.pk),
        _url("strategy_map"),
        _url("strategy_map", rep=nora.pk),
        _url("notes", rep=nora.pk),
    ]
    for url in own:
        html = _get(client, url)
        for hidden in ("Kim Colleague", "KIM-WON", "7,777", "Sergio Sanz", "Madrid", "Iberia"):
            assert hidden not in html, (url, hidden)
    detail = _get(client, _url("kpi_detail"))
    assert "NORA-1" in detail and "Rep Nora Nordin" in detail
    assert "Strategy map of Nora Nordin" in _get(client, _url("strategy_map"))


@pytest.mark.parametrize(("page", "kind"), [(page, kind) for page, kind in SCOPED if kind == "rep"])
def test_a_rep_gets_404_on_another_reps_pages(world, login, colleague, page, kind):
    client = login("rep")
    for other in (colleague, world.reps["sergio"], world.reps["gus"]):
        url = _url(page, rep=other.pk)
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("page", ["kpi_detail", "strategy_map", "strategy_map_evidence", "compare"])
def test_a_rep_gets_404_on_any_territorys_figures_even_the_own_team(world, login, colleague, page):
    """The own team's figures would include Kim's deal, and the KPI detail would list it."""
    client = login("rep")
    for key in ("stockholm", "nordics", "root", "madrid"):
        url = _url(page, territory=world.territories[key].pk)
        assert client.get(url).status_code == 404, url
    if page in ("strategy_map_evidence", "compare"):  # pages about territories only
        assert client.get(_url(page)).status_code == 404


def test_a_reps_home_with_a_territory_is_the_own_home_and_shows_no_colleague(world, login, colleague):
    """``/`` is a rep's home (the definitions page, where ``?territory=`` selects in the own tree)."""
    client = login("rep")
    html = _get(client, _url("scorecard", territory=world.territories["stockholm"].pk))
    assert "Nora Nordin" in html and "Kim Colleague" not in html
    assert client.get(_url("scorecard", territory=world.territories["madrid"].pk)).status_code == 404


def test_a_reps_team_panel_shows_none_of_the_managers_review_comments(world, login, notes):
    html = _get(login("rep"), _url("notes", territory=world.territories["stockholm"].pk))
    assert "comment-stockholm" not in html and "Add note" not in html
