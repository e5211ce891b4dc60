"""End to end: a person signs in through the real login page in Chromium and lands on the home page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from scorecard.models import Membership, Role

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


def _organization(name: str, slug: str):
    try:
        from scorecard.services import organization_create
    except ImportError:  # the service layer is optional for this test
        from scorecard.models import Organization

        return Organization.objects.create(name=name, slug=slug)
    return organization_create(name=name, slug=slug)


def test_login_shows_the_organisation_on_the_home_page(live_server, page):
    org = _organization("Acme Browser Test Ltd", "acme-browser")
    user = get_user_model().objects.create_user(username="vera", password=PASSWORD)
    Membership.objects.create(user=user, org=org, role=Role.VIEWER)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()

    assert page.url.rstrip("/") == live_server.url.rstrip("/")
    page.get_by_role("heading", level=1, name="Acme Browser Test Ltd").wait_for(timeout=10_000)


def test_wrong_password_stays_on_the_login_page(live_server, page):
    get_user_model().objects.create_user(username="vera", password=PASSWORD)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()

    assert page.url.endswith("/accounts/login/")
    assert page.get_by_role("alert").is_visible()
