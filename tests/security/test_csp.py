"""The Content-Security-Policy header (issue 13, item 4): its directives on a page response, report-only
mode from the environment, and no inline script or style attribute left in the templates. That the
pages work under it is tests/browser/test_csp.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.project.test_settings import run_python

pytest_plugins = ["tests.conftest_personas"]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

EXPECTED = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize("persona", ["admin", "anonymous"])
def test_a_page_carries_the_policy(world, client, persona):
    if persona != "anonymous":
        client.force_login(world.users[persona])
    response = client.get("/" if persona != "anonymous" else "/accounts/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy-Report-Only" not in response
    policy = directives(response["Content-Security-Policy"])
    for name, values in EXPECTED.items():
        assert policy[name] == values, name
    # Styles: the app's own, plus two exact <style> contents by hash (plotly.js); never a blanket
    # 'unsafe-inline', and nothing of the kind for scripts.
    assert policy["style-src"][0] == "'self'"
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", v) for v in policy["style-src"][1:])
    assert len(policy["style-src"]) == 3
    assert not any("unsafe" in v for values in policy.values() for v in values)


def test_a_fragment_and_a_refusal_carry_it_too(world, client):
    client.force_login(world.users["viewer"])
    assert "Content-Security-Policy" in client.get("/", headers={"HX-Request": "true"})
    refused = client.get("/manage/users/")
    assert refused.status_code == 403
    assert "object-src 'none'" in refused["Content-Security-Policy"]


def test_report_only_mode_sends_the_policy_under_the_report_only_header(world, client, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None
    response = client.get("/accounts/login/")
    assert "Content-Security-Policy" not in response
    assert directives(response["Content-Security-Policy-Report-Only"])["script-src"] == ["'self'"]


REPORT = """
import json
from django.conf import settings
print(json.dumps({
    "enforced": getattr(settings, "CONTENT_SECURITY_POLICY", None) is not None,
    "report_only": getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) is not None,
}))
"""


@pytest.mark.parametrize(("value", "enforced"), [("", True), ("0", True), ("1", False)])
def test_report_only_mode_comes_from_the_environment(value, enforced):
    result = run_python(REPORT, DEBUG="1", CSP_REPORT_ONLY=value)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"enforced": enforced, "report_only": not enforced}


INLINE = [
    (
        re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"),
        "an inline <script> (json_script data is type=application/json)",
    ),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on* event handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\bhx-on", re.I), "an hx-on attribute (evaluated code)"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style", re.I), "a <style> element"),
]


def test_no_template_holds_inline_code_or_styles():
    found = [
        f"{path.relative_to(TEMPLATES)}:{n}: {what}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        if "email" not in path.parts  # mail is read in mail clients, not under the page's policy
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for pattern, what in INLINE
        if pattern.search(line)
    ]
    assert not found, found
