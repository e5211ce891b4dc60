"""End to end: the main pages work under the Content-Security-Policy (issue 13, item 4).

Chromium reports a blocked script, style or image both on the console ("... violates the following
Content Security Policy directive ...") and as a ``securitypolicyviolation`` event; an init script
records the events before any of the page's own scripts run. Every page below must produce neither,
and the KPI detail's charts must still be drawn (plotly.js adds its style rules at runtime)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from kpis.models import KPI
from kpis.services import rollups_recompute, target_set
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

Q1 = "2024-Q1"  # the personas' won deals close on 2024-03-01

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(
    e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" +
    e.lineNumber + " " + (e.sample || "")
  );
}, true);
"""


class PolicyWatch:
    """Collects the CSP complaints of every page the browser opens (console and events)."""

    def __init__(self, page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def check(self, what: str) -> None:
        events = self.page.evaluate("window.__cspViolations")
        assert events == [], f"{what} ({self.page.url}): {len(events)} violations, first {events[:5]}"
        assert self.console == [], f"{what} ({self.page.url}): {self.console[:5]}"


def test_the_main_pages_work_under_the_policy(world, live_server, page):
    nordics = world.territories["nordics"]
    kpi = KPI.objects.get(org=world.org, slug="won_revenue")
    target_set(kpi=kpi, period=Q1, goal=1500, territory=nordics, reason="Q1 plan")
    target_set(kpi=kpi, period=Q1, goal=4000, rep=world.reps["nora"], reason="Nora's quota")
    rollups_recompute(org=world.org, today=date.today())
    watch = PolicyWatch(page)

    sign_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/?period={Q1}&territory={nordics.pk}")
    page.get_by_role("heading", level=1, name="Acme/Nordics").wait_for()
    assert page.locator(".score-bar").count() >= 1
    # An htmx swap: the territory picker replaces the scorecard in place.
    page.get_by_label("Territory", exact=True).select_option(str(world.territories["stockholm"].pk))
    page.wait_for_url(re.compile(r"territory="))
    page.get_by_role("heading", level=1, name="Acme/Nordics/Stockholm").wait_for()
    watch.check("scorecard")

    detail = reverse("kpi_detail", args=["won_revenue"])
    page.goto(f"{live_server.url}{detail}?period={Q1}&territory={nordics.pk}")
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=15_000)
    assert page.locator(".js-plotly-plot svg.main-svg").count() >= 2  # history, breakdown
    assert page.locator(".js-plotly-plot .bars path").count() >= 1  # Stockholm's bar
    page.locator(".js-plotly-plot").first.hover()  # the modebar and hover layer draw on demand
    watch.check("KPI detail")
    # plotly.js's own rules took effect: its modebar is positioned by them, not left in the flow.
    assert page.locator(".js-plotly-plot .modebar").first.evaluate("e => getComputedStyle(e).position") == (
        "absolute"
    )

    for what, path, ready in [
        ("strategy map", reverse("strategy_map"), ".strategy-map, main h1"),
        ("compare", f"{reverse('compare')}?period={Q1}", "main h1"),
        ("target grid", f"{reverse('target_grid')}?period={Q1}&territory={nordics.pk}", "main h1"),
        ("import wizard", reverse("import_wizard"), "main h1"),
        ("two-factor setup", reverse("two_factor_setup"), ".twofactor-qr svg"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.locator(ready).first.wait_for()
        watch.check(what)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    sign_in(page, live_server, "nora")
    page.goto(f"{live_server.url}/?period={Q1}")
    page.locator(".quota-bar").first.wait_for()
    watch.check("rep scorecard")


def test_the_checks_would_see_a_violation(world, live_server, page):
    """An inline script and a style attribute, put into a served page, are both reported: the absence
    of reports above means something."""
    watch = PolicyWatch(page)
    sign_in(page, live_server, "ada")
    page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.__ran = true";
          document.body.appendChild(s);
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
        }"""
    )
    page.wait_for_function("window.__cspViolations.length >= 2")
    assert page.evaluate("window.__ran") is None
    directives = " ".join(page.evaluate("window.__cspViolations"))
    assert "script-src" in directives and "style-src" in directives
    with pytest.raises(AssertionError):
        watch.check("a page with an inline script")
