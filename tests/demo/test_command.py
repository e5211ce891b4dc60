"""``python manage.py seed_demo``: builds the demo, prints the logins, sends (or skips) the recompute."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from demo.data import DEMO_SLUG
from kpis.models import ScopeRollup
from scorecard.models import Organization


@pytest.fixture
def recompute_calls(monkeypatch):
    """The rollup recompute the command sends, recorded instead of run (the engine has its own tests)."""
    calls: list[tuple] = []
    monkeypatch.setattr("kpis.tasks.recompute_org.delay", lambda *args, **kw: calls.append(args))
    return calls


@pytest.mark.django_db
def test_command_prints_the_counts_and_logins_and_sends_a_recompute(recompute_calls):
    out = StringIO()
    call_command("seed_demo", "--today", "2026-11-23", "--size", "small", stdout=out)
    text = out.getvalue()
    assert text.startswith("Built Northwind Systems (org 'demo') with history up to 2026-11-23:")
    assert any(line.split()[1:] == ["opportunities"] for line in text.splitlines())
    for username, role in (("admin", "admin"), ("manager", "manager"), ("rep", "rep"), ("viewer", "viewer")):
        assert any(line.split()[:3] == [username, "demo", role] for line in text.splitlines())
    org = Organization.objects.get(slug=DEMO_SLUG)
    assert recompute_calls == [(org.id, None, "2026-11-23")]


@pytest.mark.django_db
def test_command_without_recompute_sends_none(recompute_calls):
    call_command("seed_demo", "--today", "2026-11-23", "--size", "small", "--no-recompute", stdout=StringIO())
    assert recompute_calls == []
    assert not ScopeRollup.objects.exists()


@pytest.mark.django_db
def test_command_rejects_a_malformed_day():
    with pytest.raises(CommandError, match="ISO date"):
        call_command("seed_demo", "--today", "23/11/2026", "--no-recompute", stdout=StringIO())
