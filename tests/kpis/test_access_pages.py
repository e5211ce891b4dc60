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


# --- (a) anonymous --------------------------------------------------------------------------------


@pytest.mark.parametrize(("page", "kind"), SCOPED)
def test_anonymous_goes_to_the_login_page_from_every_page(world, client, page, kind):
    key = "stockholm" if kind == "territory" else "nora"
    url = _url(page, **{kind: _scope(world, kind, key).pk})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_anonymous_writes_go_to_the_login_page_and_write_nothing(world, client, notes):
    subject = {"period": PERIOD, "rep": world.reps["nora"].pk}
    created = client.post(reverse("notes"), {**subject, "kind": "coaching", "text": "sneaky"})
    done = client.post(reverse("note_done", args=[notes["nora"].pk]), {**subject, "done": "1"})
    for response in (created, done):
        assert response.status_code == 302
        assert response["Location"].startswith(f"{reverse('login')}?next=")
    assert not Note.objects.filter(text="sneaky").exists()
    notes["nora"].refresh_from_db()
    assert not notes["nora"].done


# --- (b) a manager and the other region: 404 ------------------------------------------------------


@pytest.mark.parametrize("manager", REGIONS)
@pytest.mark.parametrize(("page", "kind"), SCOPED)
def test_a_manager_gets_404_on_the_other_regions_territories_and_reps(world, login, manager, page, kind):
    client = login(manager)
    for key in REGIONS[OTHER[manager]][kind]:
        url = _url(page, **{kind: _scope(world, kind, key).pk})
        assert client.get(url).status_code == 404, url
    for key in REGIONS[manager][kind]:  # the own region's, from the same page
        url = _url(page, **{kind: _scope(world, kind, key).pk})
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("manager", REGIONS)
@pytest.mark.parametrize(("page", "kind"), SCOPED)
def test_a_manager_gets_404_above_the_own_region_and_in_another_organisation(
    world, login, manager, page, kind
):
    client = login(manager)
    others = ("root", "globex_hq") if kind == "territory" else ("gus",)
    for key in others:
        url = _url(page, **{kind: _scope(world, kind, key).pk})
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("manager", REGIONS)
def test_a_manager_gets_404_ticking_off_the_other_regions_action_item(world, login, notes, manager):
    rep = REGIONS[OTHER[manager]]["rep"][0]
    note = notes[rep]
    response = login(manager).post(
        reverse("note_done", args=[note.pk]), {"period": PERIOD, "rep": note.rep_id, "done": "1"}
    )
    assert response.status_code == 404
    note.refresh_from_db()
    assert not note.done


@pytest.mark.parametrize("manager", REGIONS)
def test_a_manager_gets_404_writing_a_note_on_the_other_regions_rep_or_team(world, login, manager):
    client = login(manager)
    other = REGIONS[OTHER[manager]]
    rep, team = world.reps[other["rep"][0]], world.territories[other["territory"][1]]
    coaching = {"period": PERIOD, "rep": rep.pk, "kind": "coaching", "text": "across the border"}
    comment = {"period": PERIOD, "territory": team.pk, "kpi": KPI_SLUG, "kind": "comment", "text": "across"}
    assert client.post(reverse("notes"), coaching).status_code == 404
    assert client.post(reverse("notes"), comment).status_code == 404
    assert not Note.objects.filter(text__startswith="across").exists()


# --- (c) a manager's own pages never name the other region ----------------------------------------


def _own_urls(world, manager: str, page: str) -> list[str]:
    """The page for the manager's default scope (when it has one) and for each own territory and rep."""
    _path, kinds = PAGES[page]
    urls = [_url(page)] if page in WITHOUT_SCOPE else []
    for kind in kinds:
        urls += [_url(page, **{kind: _scope(world, kind, key).pk}) for key in REGIONS[manager][kind]]
    return urls


@pytest.mark.parametrize("manager", REGIONS)
@pytest.mark.parametrize("page", PAGES)
def test_a_managers_own_pages_never_name_the_other_regions_territories_or_reps(stored, login, manager, page):
    client = login(manager)
    hidden = (*NAMES[OTHER[manager]], *OUTSIDER_NAMES)
    own_region = NAMES[manager][0]
    for url in _own_urls(stored, manager, page):
        html = _get(client, url)
        assert [name for name in hidden if name in html] == [], url
        scope_names = [name for name in NAMES[manager] if name in html]
        assert scope_names, f"{url} names nothing of {own_region}"


def test_the_other_regions_notes_stay_out_of_the_managers_panels(stored, login):
    client = login("manager")
    for subject in ({"rep": stored.reps["nora"].pk}, {"territory": stored.territories["stockholm"].pk}):
        html = _get(client, _url("notes", **subject))
        assert "action-sergio" not in html and "comment-madrid" not in html
    assert "action-nora" in _get(client, _url("notes", rep=stored.reps["nora"].pk))
    assert "comment-stockholm" in _get(client, _url("notes", territory=stored.territories["stockholm"].pk))


# --- (d) read-only members get 403 on the notes writes --------------------------------------------


@pytest.mark.parametrize("persona", ["viewer", "rep"])
def test_read_only_members_get_403_writing_a_note(world, login, persona):
    client = login(persona)
    coaching = {"period": PERIOD, "rep": world.reps["nora"].pk, "kind": "coaching", "text": "read-only"}
    comment = {
        "period": PERIOD,
        "territory": world.territories["stockholm"].pk,
        "kpi": KPI_SLUG,
        "kind": "comment",
        "text": "read-only",
    }
    assert client.post(reverse("notes"), coaching).status_code == 403
    assert client.post(reverse("notes"), comment).status_code == 403
    assert client.post(reverse("notes"), coaching, HTTP_HX_REQUEST="true").status_code == 403
    assert not Note.objects.filter(text="read-only").exists()


@pytest.mark.parametrize("persona", ["viewer", "rep"])
@pytest.mark.parametrize("which", ["nora", "stockholm"])  # an action item, a review comment
def test_read_only_members_get_403_ticking_a_note_off(world, login, notes, persona, which):
    note = notes[which]
    subject = {"rep": note.rep_id} if note.rep_id else {"territory": note.territory_id}
    response = login(persona).post(
        reverse("note_done", args=[note.pk]), {"period": PERIOD, **subject, "done": "1"}
    )
    if persona == "rep" and which == "stockholm":
        assert response.status_code == 404  # a rep does not read review comments at all
    else:
        assert response.status_code == 403
    note.refresh_from_db()
    assert not note.done


def test_a_viewer_reads_every_panel_without_a_form(stored, login):
    client = login("viewer")
    for subject in ({"rep": stored.reps["sergio"].pk}, {"territory": stored.territories["stockholm"].pk}):
        html = _get(client, _url("notes", **subject))
        assert "Add note" not in html and "Mark done" not in html


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


def test_a_reps_home_is_their_own_scorecard_and_a_territory_there_is_a_404(world, login, colleague):
    """``/`` is a rep's own scorecard, the only one they see: any ``?territory=`` is a 404 there (a
    territory's figures count colleagues' deals); the definitions page browses the own tree."""
    client = login("rep")
    html = _get(client, _url("scorecard"))
    assert "Nora Nordin" in html and "Kim Colleague" not in html
    for territory in ("stockholm", "madrid"):
        assert client.get(_url("scorecard", territory=world.territories[territory].pk)).status_code == 404
    tree = _get(client, f"{reverse('definitions')}?territory={world.territories['stockholm'].pk}")
    assert "Kim Colleague" not in tree


def test_a_reps_team_panel_shows_none_of_the_managers_review_comments(world, login, notes):
    html = _get(login("rep"), _url("notes", territory=world.territories["stockholm"].pk))
    assert "comment-stockholm" not in html and "Add note" not in html
