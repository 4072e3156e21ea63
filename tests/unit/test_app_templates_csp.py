"""The Content-Security-Policy forbids inline script, so no template may carry any: every
<script> has a src, no element has an on* event-handler attribute or a javascript: URL."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "app" / "templates").rglob("*.html"))


def inline_script_findings(text: str) -> list[str]:
    """Inline code a strict ``script-src 'self'`` would block, as short descriptions."""
    findings = []
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script\s*>", text, flags=re.S | re.I):
        if "src=" not in match.group(1).lower() or match.group(2).strip():
            findings.append("inline <script>: " + match.group(0)[:60])
    findings += ["event handler: " + m.group(0) for m in re.finditer(r"\son[a-z]+\s*=", text, flags=re.I)]
    findings += ["javascript: URL" for _ in re.finditer(r"javascript:", text, flags=re.I)]
    return findings


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_inline_script(template):
    assert inline_script_findings(template.read_text(encoding="utf-8")) == []


def test_the_scan_finds_inline_script():
    page = '<script>alert(1)</script><button onclick="x()">'
    assert len(inline_script_findings(page)) == 2
    assert inline_script_findings('<script src="/static/js/live.js"></script>') == []


def test_a_configured_tile_server_is_the_only_image_host_added_to_the_policy():
    from app.security import security_headers, tile_origin

    assert tile_origin("https://tiles.example.org:8443/{z}/{x}/{y}.png") == "https://tiles.example.org:8443"
    assert tile_origin("") == "" and tile_origin("javascript:alert(1)") == ""
    default = dict(security_headers(False))["Content-Security-Policy"]
    with_tiles = dict(security_headers(False, ("https://tiles.example.org",)))["Content-Security-Policy"]
    assert "img-src 'self' data:;" in default
    assert "img-src 'self' data: https://tiles.example.org;" in with_tiles
    assert with_tiles.replace(" https://tiles.example.org", "") == default
