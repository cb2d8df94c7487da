"""The claims a solution makes about its image, as ``lookback`` lists and checks them.

The listing call answers in numbered pairs::

    Claim 1 (step 2): the triangle's base is 6 units
    Check 1: How long is the base of the triangle?

:func:`parse_claims` reads them leniently (markdown bullets and bold, ``Step 2`` or ``2`` in
the parentheses, ``:``, ``.``, ``)`` or ``-`` after the number); a claim without its check
question is checked by asking whether the claim holds. It never raises on any text.
"""

from __future__ import annotations

from dataclasses import dataclass

LEAD = " \t>*#_-"
"""What may stand before ``Claim``/``Check`` on a line (indentation, bullets, emphasis)."""
EMPHASIS = " \t*_"
SEPARATORS = ":.)-"


@dataclass(frozen=True, slots=True)
class Claim:
    """One thing the solution says the image shows, and the question that checks it."""

    number: int
    step: int | None
    text: str
    check: str
    observation: str = ""
    """What looking back at the image found (filled by the ``look_back`` node)."""


def parse_claims(text: str, limit: int) -> list[Claim]:
    """The claims of a listing, in order of their numbers, at most ``limit`` of them."""
    claims: dict[int, tuple[int | None, str]] = {}
    checks: dict[int, str] = {}
    for line in text.splitlines():
        found = read_line(line)
        if found is None:
            continue
        kind, number, step, body = found
        if kind == "claim":
            claims.setdefault(number, (step, body))
        else:
            checks.setdefault(number, body)
    out = []
    for number in sorted(claims):
        step, claim = claims[number]
        check = checks.get(number) or f"Does the figure show that {claim}?"
        out.append(Claim(number, step, claim, check))
    return out[: max(0, limit)]


def read_line(line: str) -> tuple[str, int, int | None, str] | None:
    """``(kind, number, step, text)`` of a ``Claim N (step M): ...`` or ``Check N: ...`` line.

    A scan in one pass (no backtracking regular expression: model text can be long and odd).
    """
    rest = line.lstrip(LEAD)
    kind = rest[:5].lower()
    if kind not in ("claim", "check"):
        return None
    number, rest = _number(rest[5:].lstrip())
    if number is None:
        return None
    rest = rest.lstrip(EMPHASIS)
    step = None
    if kind == "claim" and rest.startswith("("):
        inner, closed, after = rest[1:].partition(")")
        if not closed:
            return None
        inner = inner.strip()
        if inner[:4].lower() == "step":
            inner = inner[4:].strip()
        step, left = _number(inner)
        if step is None or left.strip():
            return None
        rest = after.lstrip(EMPHASIS)
    if not rest or rest[0] not in SEPARATORS:
        return None
    body = _clean(rest[1:])
    return (kind, number, step, body) if body else None


def _number(text: str) -> tuple[int | None, str]:
    """A leading number of 1 to 3 ASCII digits, and the text after it."""
    digits = 0
    while digits < len(text) and digits < 4 and text[digits] in "0123456789":
        digits += 1
    if not 1 <= digits <= 3:
        return None, text
    return int(text[:digits]), text[digits:]


def _clean(text: str) -> str:
    """A claim or question without surrounding markdown emphasis and spaces."""
    return text.strip(EMPHASIS)


def claims_block(claims: list[Claim]) -> str:
    """The checked claims for the critique prompt: each claim, then what the image showed."""
    lines = []
    for claim in claims:
        where = f" (step {claim.step})" if claim.step is not None else ""
        lines.append(f"Claim {claim.number}{where}: {claim.text}")
        lines.append(f"  Asked of the image: {claim.check}")
        lines.append(f"  Looking back at the image: {claim.observation.strip() or '(no answer)'}")
    return "\n".join(lines)
