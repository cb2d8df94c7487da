"""The claims a solution makes about its image, as ``lookback`` lists and checks them.

The listing call answers in numbered pairs::

    Claim 1 (step 2): the triangle's base is 6 units
    Check 1: How long is the base of the triangle?

:func:`parse_claims` reads them leniently (markdown bullets and bold, ``Step 2`` or ``2`` in
the parentheses, ``:``, ``.``, ``)`` or ``-`` after the number); a claim without its check
question is checked by asking whether the claim holds. It never raises on any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CLAIM = re.compile(
    r"^[\s>*#_-]*claim\s*(\d{1,3})\s*[*_]*\s*(?:\(\s*(?:step\s*)?(\d{1,3})\s*\))?\s*[*_]*\s*[:.)\-]\s*(.*\S)",
    re.IGNORECASE,
)
_CHECK = re.compile(r"^[\s>*#_-]*check\s*(\d{1,3})\s*[*_]*\s*[:.)\-]\s*(.*\S)", re.IGNORECASE)


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
        found = _CLAIM.match(line)
        if found:
            number = int(found.group(1))
            step = int(found.group(2)) if found.group(2) else None
            claims.setdefault(number, (step, _clean(found.group(3))))
            continue
        found = _CHECK.match(line)
        if found:
            checks.setdefault(int(found.group(1)), _clean(found.group(2)))
    out = []
    for number in sorted(claims):
        step, claim = claims[number]
        if not claim:
            continue
        check = checks.get(number) or f"Does the figure show that {claim}?"
        out.append(Claim(number, step, claim, check))
    return out[: max(0, limit)]


def _clean(text: str) -> str:
    """A claim or question without surrounding markdown emphasis and spaces."""
    return text.strip().strip("*_").strip()


def claims_block(claims: list[Claim]) -> str:
    """The checked claims for the critique prompt: each claim, then what the image showed."""
    lines = []
    for claim in claims:
        where = f" (step {claim.step})" if claim.step is not None else ""
        lines.append(f"Claim {claim.number}{where}: {claim.text}")
        lines.append(f"  Asked of the image: {claim.check}")
        lines.append(f"  Looking back at the image: {claim.observation.strip() or '(no answer)'}")
    return "\n".join(lines)
