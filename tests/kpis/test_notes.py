"""Coaching notes, action items and review comments: who writes, who reads, the panel and its forms."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kpis.models import KPI, Note, NoteKind
from kpis.selectors import notes_about, visible_notes
from kpis.services import note_create, note_done_set
from scorecard.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytest_plugins = ["tests.conftest_personas"]

PERIOD = "2026-Q3"
URL = reverse("notes")


def member(world, persona: str) -> Membership:
    return Membership.objects.get(user=world.users[persona], org=world.org)


def comment(world, persona: str, territory: str, text: str = "Pipeline thin", **extra) -> Note:
    kpi = KPI.objects.get(org=world.org, slug="open_pipeline_value")
    return note_create(
        membership=member(world, persona),
        kind=NoteKind.COMMENT,
        period=PERIOD,
        text=text,
        territory=world.territories[territory],
        kpi=kpi,
        **extra,
    )


def test_a_manager_comments_inside_the_region_and_not_outside(world):
    note = comment(world, "manager", "stockholm")
    assert note.author == world.users["manager"] and note.period == PERIOD
    with pytest.raises(PermissionDenied):
        comment(world, "manager", "madrid")


def test_viewers_and_reps_read_but_do_not_write(world):
    for persona in ("viewer", "rep"):
        with pytest.raises(PermissionDenied):
            comment(world, persona, "stockholm")


def test_review_comments_are_for_the_managers_of_that_territory_and_above(world):
    in_region = comment(world, "admin", "stockholm")
    at_root = comment(world, "admin", "root")
    in_other = comment(world, "admin", "madrid")
    manager = set(visible_notes(member(world, "manager")))
    assert in_region in manager  # below the manager's region
    assert at_root not in manager  # above it: for the root's managers
    assert in_other not in manager
    assert {in_region, at_root, in_other} <= set(visible_notes(member(world, "viewer")))
    assert not set(visible_notes(member(world, "rep")))  # reps read coaching, not review comments


def test_coaching_and_action_items_on_a_rep_reach_the_rep_not_other_reps(world):
    nora = world.reps["nora"]
    coaching = note_create(
        membership=member(world, "manager"),
        kind=NoteKind.COACHING,
        period=PERIOD,
        text="Qualify earlier",
        rep=nora,
    )
    action = note_create(
        membership=member(world, "manager"),
        kind=NoteKind.ACTION,
        period=PERIOD,
        text="Book two POCs",
        rep=nora,
        owner=world.users["rep"],
        due_date=None,
    )
    assert set(notes_about(member(world, "rep"), period=PERIOD, rep=nora)) == {coaching, action}
    assert not set(visible_notes(member(world, "other_rep")))
    with pytest.raises(PermissionDenied):
        note_create(
            membership=member(world, "manager"),
            kind=NoteKind.COACHING,
            period=PERIOD,
            text="x",
            rep=world.reps["sergio"],
        )
    # The owner ticks the action item off; another rep cannot; coaching notes are not done or not.
    note_done_set(membership=member(world, "rep"), note=action, done=True)
    action.refresh_from_db()
    assert action.done
    with pytest.raises(PermissionDenied):
        note_done_set(membership=member(world, "other_rep"), note=action, done=False)
    with pytest.raises(ValidationError):
        note_done_set(membership=member(world, "manager"), note=coaching, done=True)


def test_bad_notes_are_refused_with_a_message(world):
    m = member(world, "admin")
    with pytest.raises(ValidationError, match="Write something"):
        comment(world, "admin", "stockholm", text="   ")
    with pytest.raises(ValidationError, match="about a KPI or an objective"):
        note_create(
            membership=m, kind=NoteKind.COMMENT, period=PERIOD, text="x", territory=world.territories["root"]
        )
    with pytest.raises(ValidationError, match="Review comments are on a territory"):
        note_create(membership=m, kind=NoteKind.COMMENT, period=PERIOD, text="x", rep=world.reps["nora"])


def test_the_panel_lists_notes_and_adds_one_through_htmx(world, login):
    client = login("manager")
    stockholm = world.territories["stockholm"]
    query = {"period": PERIOD, "territory": stockholm.pk, "kpi": "open_pipeline_value"}
    response = client.get(URL, query)
    assert response.status_code == 200
    assert "No notes for this period yet." in response.content.decode()
    response = client.post(
        URL, {**query, "kind": "comment", "text": "Two deals slipped"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Two deals slipped" in html and "<html" not in html  # the fragment only
    assert Note.objects.filter(org=world.org, text="Two deals slipped", territory=stockholm).count() == 1
    # Without JavaScript: a plain POST redirects back to the panel's page.
    response = client.post(URL, {**query, "kind": "comment", "text": "Follow up"})
    assert response.status_code == 302 and response["Location"].startswith(URL)


def test_the_panel_shows_errors_beside_the_fields(world, login):
    client = login("manager")
    query = {"period": PERIOD, "territory": world.territories["stockholm"].pk, "kpi": "open_pipeline_value"}
    response = client.post(URL, {**query, "kind": "comment", "text": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()


def test_the_panel_is_404_outside_what_the_user_sees_and_403_for_a_viewer_writing(world, login):
    manager = login("manager")
    assert (
        manager.get(URL, {"period": PERIOD, "territory": world.territories["madrid"].pk}).status_code == 404
    )
    assert manager.get(URL, {"period": PERIOD, "rep": world.reps["sergio"].pk}).status_code == 404
    assert (
        manager.get(URL, {"period": PERIOD, "territory": world.territories["globex_hq"].pk}).status_code
        == 404
    )
    assert (
        manager.get(URL, {"period": "2026-Q9", "territory": world.territories["stockholm"].pk}).status_code
        == 404
    )
    viewer = login("viewer")
    query = {"period": PERIOD, "territory": world.territories["stockholm"].pk, "kpi": "open_pipeline_value"}
    html = viewer.get(URL, query).content.decode()
    assert "Add note" not in html
    assert viewer.post(URL, {**query, "kind": "comment", "text": "x"}).status_code == 403


def test_the_panel_renders_in_a_constant_number_of_queries(world, login, django_assert_max_num_queries):
    for i in range(5):
        comment(world, "admin", "stockholm", text=f"note {i}")
    client = login("manager")
    with django_assert_max_num_queries(15):
        client.get(
            URL,
            {"period": PERIOD, "territory": world.territories["stockholm"].pk, "kpi": "open_pipeline_value"},
        )


def test_ticking_off_a_note_that_is_not_an_action_item_is_a_400_with_the_reason(world, login):
    note = comment(world, "manager", "stockholm")
    client = login("manager")
    subject = {"period": PERIOD, "territory": world.territories["stockholm"].pk, "kpi": "open_pipeline_value"}
    for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(reverse("note_done", args=[note.pk]), {**subject, "done": "1"}, **htmx)
        assert response.status_code == 400
        assert "Only action items are done or not." in response.content.decode()
    note.refresh_from_db()
    assert not note.done


def test_ticking_off_is_refused_before_anything_else_for_read_only_members(world):
    """A viewer learns nothing about the note (403, not 'only action items ...')."""
    note = comment(world, "admin", "stockholm")
    with pytest.raises(PermissionDenied):
        note_done_set(membership=member(world, "viewer"), note=note, done=True)


def test_ticking_off_with_a_panel_that_cannot_be_shown_is_a_404_and_writes_nothing(world, login):
    action = note_create(
        membership=member(world, "manager"),
        kind=NoteKind.ACTION,
        period=PERIOD,
        text="Book two POCs",
        rep=world.reps["nora"],
    )
    url = reverse("note_done", args=[action.pk])
    client = login("manager")
    assert client.post(url, {"done": "1"}).status_code == 404  # no period: which panel?
    assert (
        client.post(url, {"period": PERIOD, "rep": world.reps["sergio"].pk, "done": "1"}).status_code == 404
    )
    action.refresh_from_db()
    assert not action.done
    response = client.post(url, {"period": PERIOD, "rep": world.reps["nora"].pk, "done": "1"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.done


# --- the panel on the pages: what a note is about, going back, action items ---------------------------


def test_a_reps_panel_adds_a_note_about_one_kpi_and_stays_the_reps_panel(world, login):
    nora = world.reps["nora"]
    client = login("manager")
    response = client.post(
        URL,
        {"period": PERIOD, "rep": nora.pk, "kind": "coaching", "about": "kpi:win_rate", "text": "Qualify"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    note = Note.objects.get(org=world.org, text="Qualify")
    assert (note.rep, note.kpi.slug, note.territory) == (nora, "win_rate", None)
    html = response.content.decode()
    assert 'name="kpi"' not in html  # still the panel on the rep about every KPI, not on the one KPI
    assert f'href="/kpi/win_rate/?period={PERIOD}&amp;rep={nora.pk}">Win rate</a>' in html
    assert '<option value="kpi:win_rate">' in html and 'value="objective:' not in html


def test_a_review_comment_names_a_kpi_or_an_objective(world, login):
    stockholm = world.territories["stockholm"]
    client = login("manager")
    query = {"period": PERIOD, "territory": stockholm.pk, "kind": "comment", "text": "Slow quarter"}
    refused = client.post(URL, query, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "A review comment is about a KPI or an objective." in refused.content.decode()
    assert ">Slow quarter</textarea>" in refused.content.decode()  # what was written is kept
    objective = KPI.objects.get(org=world.org, slug="win_rate").objective
    assert client.post(URL, {**query, "about": f"objective:{objective.pk}"}).status_code == 302
    note = Note.objects.get(org=world.org, text="Slow quarter")
    assert (note.territory, note.objective, note.kpi) == (stockholm, objective, None)
    assert client.post(URL, {**query, "about": "kpi:no-such-kpi"}).status_code == 404


def test_a_plain_post_goes_back_to_the_page_it_came_from_and_only_on_this_site(world, login):
    nora = world.reps["nora"]
    client = login("manager")
    form = {"period": PERIOD, "rep": nora.pk, "kind": "coaching", "text": "Good call"}
    back = f"/?period={PERIOD}&rep={nora.pk}"
    response = client.post(URL, {**form, "next": back})
    assert response.status_code == 302 and response["Location"] == f"{back}#notes-panel"
    response = client.post(URL, {**form, "next": "https://elsewhere.example/"})
    assert response["Location"] == f"{URL}?period={PERIOD}&rep={nora.pk}#notes-panel"


def _action(world, **extra) -> Note:
    return note_create(
        membership=member(world, "manager"),
        kind=NoteKind.ACTION,
        period=PERIOD,
        text="Call the CFO",
        rep=world.reps["nora"],
        **extra,
    )


def test_an_action_item_is_ticked_off_through_the_panel_and_a_viewer_may_not(world, login):
    action = _action(world, owner=world.users["rep"])
    done_url = reverse("note_done", args=[action.pk])
    form = {"period": PERIOD, "rep": world.reps["nora"].pk, "done": "1"}
    assert login("viewer").post(done_url, form).status_code == 403
    action.refresh_from_db()
    assert not action.done
    response = login("manager").post(done_url, form, HTTP_HX_REQUEST="true")
    action.refresh_from_db()
    assert action.done and response.status_code == 200
    assert "Reopen" in response.content.decode()
    response = login("rep").post(done_url, {**form, "done": "0", "next": "/"})  # the owner reopens it
    action.refresh_from_db()
    assert not action.done and response["Location"] == "/#notes-panel"
    assert login("other_rep").post(done_url, form).status_code == 404  # not a note Sergio sees


def test_an_action_item_without_owner_or_author_is_listed_and_overdue_shows(world, login):
    action = _action(world, due_date=date(2020, 1, 31))
    action.author = None
    action.save()
    html = login("admin").get(URL, {"period": PERIOD, "rep": world.reps["nora"].pk}).content.decode()
    assert "Owner: nobody yet · due 31 Jan 2020" in html
    assert "a former user" in html
    assert 'note__state--overdue">overdue<' in html


def _owner_options(html: str) -> list[str]:
    start = html.index('name="owner"')
    return re.findall(
        r"<option value=\"\d+\"[^>]*>([^<]+)</option>", html[start : html.index("</select>", start)]
    )


def test_an_action_items_owner_is_someone_who_can_see_what_it_is_about(world, login):
    """About Nora (Stockholm, in Nordics): the admin, Nordics' manager and Nora herself — not Iberia's
    manager, who cannot see her, nor a deactivated admin."""
    gone = UserFactory.create(username="gone", first_name="Gone", last_name="Admin")
    MembershipFactory.create(user=gone, org=world.org, role=Role.ADMIN, active=False)
    html = login("manager").get(URL, {"period": PERIOD, "rep": world.reps["nora"].pk}).content.decode()
    assert _owner_options(html) == ["Ada Admin", "Manny Manager", "Nora Nordin"]
    madrid = {"period": PERIOD, "territory": world.territories["madrid"].pk}
    html = login("other_manager").get(URL, madrid).content.decode()
    assert _owner_options(html) == ["Ada Admin", "Isabel Ibarra"]
