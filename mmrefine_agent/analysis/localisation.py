"""Localisation: whether the step the model flagged is the step the reference feedback names.

For each incorrect item whose reference feedback names a step ("... in step 3 ..."), the
model's first flagged step (the first round that says Incorrect) is classed as
``right_step``, ``other_step``, ``no_step`` (said Incorrect without naming a step) or
``missed`` (never said Incorrect). Items whose feedback names no step are counted apart.
The reference step comes from the run's ``submission.json`` (written when a run finishes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmrefine_agent.graph.parsing import first_step_number

OUTCOMES = ("right_step", "other_step", "no_step", "missed")
OUTCOME_LABELS = {
    "right_step": "right error found",
    "other_step": "something else flagged",
    "no_step": "incorrect, no step named",
    "missed": "error not detected",
}


def reference_steps(
    submission: dict[str, dict[str, Any]],
) -> dict[tuple[str, str], int | None]:
    """(id, solution source) -> the step the reference feedback names first (or None).

    ``submission``: the run's submission.json entries (``RunDir.submission()``).
    """
    return {
        (str(e.get("id")), str(e.get("solution_source"))): first_step_number(
            e.get("reference_feedback")
        )
        for e in submission.values()
    }


def flagged_step(record: dict[str, Any]) -> tuple[bool, int | None]:
    """(said Incorrect at some round, the step flagged at the first such round)."""
    for entry in record.get("rounds") or []:
        if entry.get("verdict") == "incorrect":
            step = entry.get("error_step")
            return True, int(step) if isinstance(step, int) else None
    return False, None


def classify(record: dict[str, Any], reference: int) -> str:
    """One of OUTCOMES for an incorrect item whose reference names ``reference``."""
    detected, step = flagged_step(record)
    if not detected:
        return "missed"
    if step is None:
        return "no_step"
    return "right_step" if step == reference else "other_step"


def localisation(
    results: Sequence[dict[str, Any]], references: dict[tuple[str, str], int | None]
) -> dict[str, Any]:
    """Counts and shares of OUTCOMES, overall and per error type."""

    def empty() -> dict[str, Any]:
        return {"n": 0, **dict.fromkeys(OUTCOMES, 0)}

    overall = empty()
    by_type: dict[str, dict[str, Any]] = {}
    no_reference = 0
    per_item: dict[str, str] = {}
    for record in results:
        if record.get("status") != "ok" or record.get("label") != "incorrect":
            continue
        reference = references.get((str(record.get("id")), str(record.get("source"))))
        if reference is None:
            no_reference += 1
            continue
        outcome = classify(record, reference)
        per_item[str(record["key"])] = outcome
        group = by_type.setdefault(str(record.get("error_type") or "-"), empty())
        for block in (overall, group):
            block["n"] += 1
            block[outcome] += 1
    for block in (overall, *by_type.values()):
        block["share"] = {o: (block[o] / block["n"] if block["n"] else None) for o in OUTCOMES}
    return {
        "overall": overall,
        "by_error_type": dict(sorted(by_type.items())),
        "no_reference_step": no_reference,
        "per_item": per_item,
    }
