"""Model and dataset text is data: nothing in it may drive the terminal.

Escape sequences (CSI, OSC such as clipboard writes and title changes, DCS), other C0 and C1
control characters and DEL are removed before any such text is printed; newlines and tabs stay.
"""

from __future__ import annotations

import re

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
