"""End to end: a person signs in through the real login page in Chromium and lands on the home page."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.browser


def test_login_shows_the_organisation_on_the_home_page(live_server, page):
    org = OrganizationFactory.create(name="Acme Browser Test Ltd")
    MembershipFactory.create(user=UserFactory.create(username="vera"), org=org)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()

    assert page.url.rstrip("/") == live_server.url.rstrip("/")
    page.get_by_role("heading", level=1, name="Acme Browser Test Ltd").wait_for(timeout=10_000)


def test_wrong_password_stays_on_the_login_page(live_server, page):
    UserFactory.create(username="vera")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()

    assert page.url.endswith("/accounts/login/")
    assert page.get_by_role("alert").is_visible()
