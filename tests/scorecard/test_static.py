"""Vendored assets are served by the app itself: plotly.js from the plotly package, htmx from django-htmx."""

from __future__ import annotations

import re
from pathlib import Path

import plotly
from django.contrib.staticfiles import finders

pytest_plugins = ["tests.conftest_personas"]

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_plotly_js_is_found_in_the_installed_plotly_package():
    assert Path(finders.find("vendor/plotly/plotly.min.js")) == PLOTLY_JS


def test_plotly_js_is_served_and_is_the_package_s_file(client):
    response = client.get("/static/vendor/plotly/plotly.min.js")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert _body(response) == PLOTLY_JS.read_bytes()


def test_htmx_is_served_by_django_htmx(client):
    response = client.get("/static/django_htmx/htmx-2.min.js")
    assert response.status_code == 200
    assert b"htmx" in _body(response)[:2000]


def test_pages_load_nothing_from_another_host(login):
    html = login("admin").get("/").content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js"' in html
    external = re.findall(r'(?:src|href)="(?:https?:)?//[^"]*"', html)
    assert external == []


def test_every_css_block_is_closed_at_the_top_level():
    """An unclosed @media block silently moves every later rule under it (it once hid the KPI detail's
    layout on wide screens): each @media starts at the top level and the braces balance."""
    css = re.sub(r"/\*.*?\*/", "", Path(finders.find("css/app.css")).read_text(), flags=re.S)
    depth = 0
    for number, line in enumerate(css.splitlines(), start=1):
        if line.lstrip().startswith("@media"):
            assert depth == 0, f"@media on line {number} is nested inside an unclosed block"
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"line {number} closes a block that was never opened"
    assert depth == 0


def test_every_scrolling_table_can_be_reached_by_keyboard_and_is_named():
    """A region that scrolls must take focus (axe: scrollable-region-focusable) and say what it holds."""
    root = Path(__file__).resolve().parents[2] / "templates"
    missing = [
        f"{path.relative_to(root)}: {tag}"
        for path in sorted(root.rglob("*.html"))
        for tag in re.findall(r'<div class="table-(?:scroll|wrap)[^"]*"[^>]*>', path.read_text())
        if not all(part in tag for part in ('tabindex="0"', 'role="region"', "aria-label"))
    ]
    assert not missing, missing
