"""Login throttling (django-axes): per account and per address, a pause that lifts by itself, logged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scorecard.templatetags.scorecard_format import duration_words
from tests.factories import PASSWORD, UserFactory

LIMIT = 5


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def _attempt(client, url, username, password, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_after_five_wrong_passwords_even_the_right_one_is_refused_with_when_to_retry(db, client, url_name):
    UserFactory.create(username="vera", is_staff=True, is_superuser=True)
    url = reverse(url_name)
    for _ in range(LIMIT - 1):
        assert _attempt(client, url, "vera", "wrong").status_code == 200  # the form again, with its error
    locked = _attempt(client, url, "vera", "wrong")
    assert locked.status_code == 429
    again = _attempt(client, url, "vera", PASSWORD)
    assert again.status_code == 429
    page = again.content.decode()
    assert "Too many failed sign-ins for vera" in page and "Try again in 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_account_from_any_address(db, client):
    UserFactory.create(username="vera")
    url = reverse("login")
    for i in range(LIMIT):
        _attempt(client, url, "vera", "wrong", ip=f"10.0.1.{i}")
    assert _attempt(client, url, "vera", PASSWORD, ip="10.9.9.9").status_code == 429


def test_the_lock_is_per_address_whatever_the_account(db, client):
    UserFactory.create(username="walt")
    url = reverse("login")
    for i in range(LIMIT):
        _attempt(client, url, f"guess{i}", "wrong", ip="10.0.2.1")
    assert _attempt(client, url, "walt", PASSWORD, ip="10.0.2.1").status_code == 429
    assert _attempt(client, url, "walt", PASSWORD, ip="10.0.2.2").status_code == 302  # another address


def test_the_pause_lifts_after_the_cool_off(db, client, settings):
    UserFactory.create(username="vera")
    url = reverse("login")
    for _ in range(LIMIT):
        _attempt(client, url, "vera", "wrong")
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _attempt(client, url, "vera", PASSWORD).status_code == 302


def test_failed_attempts_are_logged(db, client, caplog):
    UserFactory.create(username="vera")
    with caplog.at_level(logging.INFO, logger="axes"):
        _attempt(client, reverse("login"), "vera", "wrong")
    assert any("AXES" in r.getMessage() and "failed" in r.getMessage().lower() for r in caplog.records)


def test_a_successful_sign_in_clears_the_failures(db, client):
    UserFactory.create(username="vera")
    url = reverse("login")
    for _ in range(LIMIT - 1):
        _attempt(client, url, "vera", "wrong")
    assert _attempt(client, url, "vera", PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        _attempt(client, url, "vera", "wrong")
    assert _attempt(client, url, "vera", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=1, minutes=30), "1 hour 30 minutes"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(seconds=45), "45 seconds"),
    ],
)
def test_cool_offs_read_as_words(delta, words):
    assert duration_words(delta) == words
