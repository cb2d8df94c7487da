"""The shell every HTML report shares: inlined CSS/JS, KaTeX with its fonts, safe JSON blocks.

A page is one file with no external reference: KaTeX's unmodified distribution (vendored under
``report_assets/katex`` by ``scripts/vendor_katex.sh``) is inlined, its woff2 fonts as data URLs.
Data travels in ``<script type="application/json">`` blocks escaped by :func:`embed_json`, so
model text can never end a script element or open a comment.
"""

from __future__ import annotations

import base64
import html
import json
import re
from functools import cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "report_assets"
KATEX = ASSETS / "katex"

_UNSAFE_IN_SCRIPT = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
_FONT_SRC = re.compile(r"src:url\(fonts/(?P<name>[\w-]+)\.woff2\) format\(\"woff2\"\)[^;}]*")


def embed_json(data: str) -> str:
    """JSON safe inside a <script> element: no model text can end or comment it out."""
    for unsafe, escaped in _UNSAFE_IN_SCRIPT:  # str.replace: far faster than str.translate
        data = data.replace(unsafe, escaped)
    return data


def json_block(block_id: str, value: object) -> str:
    """A ``<script type="application/json">`` element holding ``value``."""
    text = embed_json(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return f'<script type="application/json" id="{html.escape(block_id)}">{text}</script>'


def pct(value: float | None) -> str:
    """A share in 0..1 as a percentage with one decimal ("-" when undefined)."""
    return "-" if value is None else f"{100 * value:.1f}"


def table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """An HTML table; ``headers`` are escaped here, cells must already be HTML."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


@cache
def katex_css() -> str:
    """KaTeX's stylesheet with each font's woff2 inlined and the other formats dropped."""
    css = (KATEX / "katex.min.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        data = (KATEX / "fonts" / f"{match['name']}.woff2").read_bytes()
        encoded = base64.b64encode(data).decode("ascii")
        return f'src:url(data:font/woff2;base64,{encoded}) format("woff2")'

    return _FONT_SRC.sub(inline, css)


@cache
def asset(name: str) -> str:
    """The text of one file under report_assets (``report.js``, ``katex/katex.min.js``...)."""
    return (ASSETS / name).read_text(encoding="utf-8")


def _script(text: str) -> str:
    # a vendored or own script never contains "</script"; guard anyway so a page cannot break
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


def page(title: str, body: str, blocks: list[str], scripts: list[str], math: bool = True) -> str:
    """A whole self-contained HTML document."""
    styles = [asset("report.css")]
    code = [asset(name) for name in scripts]
    if math:
        styles.insert(0, katex_css())
        code[:0] = [asset("katex/katex.min.js"), asset("katex/auto-render.min.js")]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        + "".join(f"<style>{s}</style>" for s in styles)
        + f"</head><body>{body}"
        + "".join(blocks)
        + "".join(_script(c) for c in code)
        + "</body></html>\n"
    )
