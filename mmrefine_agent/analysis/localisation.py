"""Localisation: whether the step the model flagged is the step the reference feedback names.

For each incorrect item whose reference feedback names a step ("... in step 3 ..."), the
model's first flagged step (the first round that says Incorrect) is classed as
``right_step``, ``other_step``, ``no_step`` (said Incorrect without naming a step) or
``missed`` (never said Incorrect). Items whose feedback names no step are counted apart.
The reference step comes from the dataset's item facts (the first "step N" of the reference
feedback, or the dataset's labelled first wrong step where it has one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmrefine_agent.graph.parsing import first_step_number
from mmrefine_agent.records.models import ItemResult
from mmrefine_agent.types import Item

OUTCOMES = ("right_step", "other_step", "no_step", "missed")
OUTCOME_LABELS = {
    "right_step": "right error found",
    "other_step": "something else flagged",
    "no_step": "incorrect, no step named",
    "missed": "error not detected",
}


def reference_steps(items: Mapping[str, Item]) -> dict[str, int | None]:
    """Item key -> the step the reference names first (None: it names no step)."""
    out: dict[str, int | None] = {}
    for key, item in items.items():
        labelled = getattr(item, "first_wrong_step", None)
        out[key] = (
            labelled if isinstance(labelled, int) else first_step_number(item.reference_feedback)
        )
    return out


def flagged_step(record: ItemResult) -> tuple[bool, int | None]:
    """(said Incorrect at some round, the step flagged at the first such round)."""
    for entry in record.rounds:
        if entry.verdict == "incorrect":
            return True, entry.error_step
    return False, None


def classify(record: ItemResult, reference: int) -> str:
    """One of OUTCOMES for an incorrect item whose reference names ``reference``."""
    detected, step = flagged_step(record)
    if not detected:
        return "missed"
    if step is None:
        return "no_step"
    return "right_step" if step == reference else "other_step"


def localisation(
    results: Sequence[ItemResult], references: Mapping[str, int | None]
) -> dict[str, Any]:
    """Counts and shares of OUTCOMES, overall and per error type."""

    def empty() -> dict[str, Any]:
        return {"n": 0, **dict.fromkeys(OUTCOMES, 0)}

    overall = empty()
    by_type: dict[str, dict[str, Any]] = {}
    no_reference = 0
    per_item: dict[str, str] = {}
    for record in results:
        if not record.refined or record.label != "incorrect":
            continue
        reference = references.get(record.key)
        if reference is None:
            no_reference += 1
            continue
        outcome = classify(record, reference)
        per_item[record.key] = outcome
        group = by_type.setdefault(record.error_type or "-", empty())
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
