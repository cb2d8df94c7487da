"""Model and dataset text is data: nothing in it may drive the terminal.

Escape sequences (CSI, OSC such as clipboard writes and title changes, DCS), other C0 and C1
control characters and DEL are removed before any such text is printed; newlines and tabs stay.
Text that reaches a rich table, panel or markup string goes through :func:`cell` (a ``Text``:
never read as markup) or :func:`inline` (escaped for a markup string), so a ``[/]`` in an
error type or an item key neither breaks the output nor styles it.
"""

from __future__ import annotations

import re

from rich.markup import escape
from rich.text import Text

_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL / ST
    r"|\x1b[P_^X][^\x1b]*(?:\x1b\\)?"  # DCS, APC, PM, SOS ... ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0 (but \t, \n), DEL, C1
)


def safe(text: str | None) -> str:
    """``text`` without terminal control sequences (``None`` -> ``"-"``)."""
    if text is None:
        return "-"
    return _ESCAPES.sub("", text)


def cell(text: object, style: str = "") -> Text:
    """Data or model text for a table cell or a title: made safe, never read as markup."""
    return Text(safe(None if text is None else str(text)), style=style)


def inline(text: object) -> str:
    """Data or model text to put inside a rich markup string: made safe and escaped."""
    return escape(safe(None if text is None else str(text)))
