"""Planning the review notes: coaching for the laggard and the demo rep, Mid-Market's win rate, Japan."""

from __future__ import annotations

from datetime import timedelta

from .choices import NoteKind
from .plan_records import Horizon, PlannedNote, Roster, at


def plan_notes(horizon: Horizon, roster: Roster) -> list[PlannedNote]:
    return _rep_notes(horizon, roster) + _team_and_region_notes(horizon)


def _rep_notes(horizon: Horizon, roster: Roster) -> list[PlannedNote]:
    """The manager coaches the laggard (with an open action) and praises the demo rep."""
    today, quarter = horizon.today, horizon.current_quarter
    previous = quarter.previous()
    laggard, demo_rep = roster.laggard, roster.demo_rep
    return [
        PlannedNote(
            NoteKind.COACHING,
            quarter.key,
            "won_revenue",
            None,
            laggard,
            "Enterprise East",
            "manager",
            f"{laggard.name} is tracking well below quota again. Pipeline coverage is under 2× and "
            "most open deals are single-product. Joint account planning on the top five accounts.",
            at(today - timedelta(days=9), 14),
        ),
        PlannedNote(
            NoteKind.ACTION,
            quarter.key,
            "open_pipeline_value",
            None,
            laggard,
            "Enterprise East",
            "manager",
            "Book six discovery meetings and qualify three new opportunities before the forecast call.",
            at(today - timedelta(days=9), 14),
            due_date=today + timedelta(days=14),
        ),
        PlannedNote(
            NoteKind.COACHING,
            previous.key,
            "poc_win_rate",
            None,
            demo_rep,
            "Enterprise East",
            "manager",
            "Strong POC discipline: success criteria agreed up front. Share the scoping template with the team.",
            at(previous.end - timedelta(days=5), 14),
        ),
    ]


def _team_and_region_notes(horizon: Horizon) -> list[PlannedNote]:
    """Last quarter's review: Mid-Market's win rate (with a finished action) and Japan's NPS."""
    today, previous = horizon.today, horizon.current_quarter.previous()
    after_previous = min(today, previous.end + timedelta(days=8))
    return [
        PlannedNote(
            NoteKind.COMMENT,
            previous.key,
            "win_rate",
            None,
            None,
            "Mid-Market",
            "manager",
            "Win rate under the red flag for another quarter. Too many unqualified deals reach proposal.",
            at(after_previous, 14),
        ),
        PlannedNote(
            NoteKind.ACTION,
            previous.key,
            "win_rate",
            None,
            None,
            "Mid-Market",
            "manager",
            "Introduce a qualification checklist (budget, authority, need, timeline) at stage 2.",
            at(after_previous, 14),
            due_date=min(today, previous.end + timedelta(days=40)),
            done=True,
        ),
        PlannedNote(
            NoteKind.COMMENT,
            previous.key,
            None,
            "nps",
            None,
            "APAC",
            "admin",
            "Japan's NPS and engagement keep falling; the team lost two senior sellers' accounts to partners.",
            at(min(today, previous.end + timedelta(days=10)), 14),
        ),
    ]
