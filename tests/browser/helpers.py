"""What the browser tests share: signing in through the real login page, and the axe check."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

from tests.factories import PASSWORD

SERIOUS = ("serious", "critical")


def sign_in(page, live_server, username: str) -> None:
    """Sign ``username`` in through the login form; returns on the page the login leads to."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def serious_violations(page) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line each."""
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {len(v['nodes'])} node(s), first {v['nodes'][0]['target']}"
        for v in violations
        if v["impact"] in SERIOUS
    ]


def assert_accessible(page) -> None:
    """No serious or critical axe violation on the page (a helper module: the message says which)."""
    found = serious_violations(page)
    assert not found, f"axe on {page.url}: {found}"
