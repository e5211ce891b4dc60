"""End to end: a person turns on two-factor sign-in (typing the key shown on the page into a "phone",
here RFC 6238 computed in the test), signs out, and signs in again with the password and a code."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp

from tests.browser.helpers import assert_accessible, sign_in
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.browser


def _code(secret_text: str, steps_ahead: int = 0) -> str:
    secret = secret_text.replace(" ", "").upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, drift=steps_ahead):06d}"


def test_enrol_then_sign_in_with_a_generated_code(live_server, page):
    org = OrganizationFactory.create(name="Acme Two Factor Ltd")
    MembershipFactory.create(user=UserFactory.create(username="vera"), org=org)

    sign_in(page, live_server, "vera")
    page.get_by_role("link", name="two-factor sign-in").click()
    page.get_by_role("heading", level=1, name="Set up two-factor sign-in").wait_for()
    assert page.locator(".twofactor-qr svg").is_visible()
    assert_accessible(page)

    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(_code(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.get_by_role("heading", level=1, name="Two-factor sign-in is on").wait_for()
    assert page.get_by_role("list", name="Recovery codes").get_by_role("listitem").count() == 10

    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    sign_in(page, live_server, "vera")
    assert "/accounts/two-factor/" in page.url
    page.get_by_role("heading", level=1, name="Enter your code").wait_for()
    assert_accessible(page)

    page.get_by_label("Code", exact=True).fill("000000" if _code(secret, 1) != "000000" else "111111")
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("alert").inner_text().startswith("That code is not right")
    assert_accessible(page)

    page.wait_for_timeout(1_100)  # django-otp makes the next try wait a second after a wrong code
    page.get_by_label("Code", exact=True).fill(_code(secret, 1))  # the enrolment used this step's code
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert page.url.rstrip("/") == live_server.url.rstrip("/")
    page.get_by_role("heading", level=1, name="Acme Two Factor Ltd").wait_for(timeout=10_000)
