"""Sessions end after an idle period; an active one is renewed every few minutes, not on every request."""

from __future__ import annotations

import time

from django.contrib.sessions.models import Session
from django.urls import reverse

from scorecard import middleware

pytest_plugins = ["tests.conftest_personas"]


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_a_page_view_within_minutes_of_the_last_touch_writes_nothing(login, django_assert_max_num_queries):
    client = login("admin")
    expiry = _expiry(client)
    client.get(reverse("definitions"))
    assert _expiry(client) == expiry


def test_an_active_session_is_renewed_after_the_refresh_interval(login, monkeypatch):
    client = login("admin")
    expiry = _expiry(client)
    later = time.time() + middleware.REFRESH_SECONDS + 5
    monkeypatch.setattr(middleware.time, "time", lambda: later)
    client.get(reverse("definitions"))
    assert _expiry(client) > expiry


def test_an_idle_session_expires(login, settings):
    client = login("admin")
    Session.objects.filter(session_key=client.session.session_key).update(expire_date="2000-01-01T00:00Z")
    response = client.get(reverse("definitions"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
