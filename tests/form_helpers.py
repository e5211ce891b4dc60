"""Checks shared by the tests of the management pages' forms."""

from __future__ import annotations

import html as html_lib
import re

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def error_beside(page: str, field_id: str) -> str:
    """The error shown beside the field ``field_id``, after checking the field says so: aria-invalid,
    and aria-describedby naming the error's element."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', page)
    assert tag is not None, f"no field {field_id}"
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    assert described is not None and f"{field_id}_error" in described.group(1).split(), tag.group(0)
    error = re.search(rf'id="{re.escape(field_id)}_error"[^>]*>(.*?)</p>', page, re.S)
    assert error is not None, f"no error beside {field_id}"
    return html_lib.unescape(error.group(1))
