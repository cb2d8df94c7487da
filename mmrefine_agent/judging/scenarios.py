"""The six MMRefine scenarios, their official names, and the explicit judge-error outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Scenario = Literal["FD", "VS", "RF", "ED", "EC", "RS", "judge_error"]

FD, VS, RF, ED, EC, RS = "FD", "VS", "RF", "ED", "EC", "RS"
JUDGE_ERROR = "judge_error"
SCENARIOS: tuple[str, ...] = (FD, VS, RF, ED, EC, RS)
CORRECT_SCENARIOS = (VS, FD)
INCORRECT_SCENARIOS = (RF, ED, EC, RS)

OFFICIAL_NAMES: dict[str, str] = {
    FD: "False Error Detection",
    VS: "Verification Success",
    RF: "Refinement Failure",
    ED: "Error Detection Success",
    EC: "Error Correction Success",
    RS: "Refinement Success",
}
FROM_OFFICIAL: dict[str, str] = {v: k for k, v in OFFICIAL_NAMES.items()}


def cascade(error_detection: int, error_correction: int, solution_correctness: int) -> str:
    """The official cascade for an incorrect initial solution."""
    if error_detection == 0:
        return RF
    if error_correction == 0:
        return ED
    if solution_correctness == 0:
        return EC
    return RS


def cascade_rule(error_detection: int, error_correction: int, solution_correctness: int) -> str:
    """The cascade step that decided, in words (for traces and reports)."""
    scenario = cascade(error_detection, error_correction, solution_correctness)
    values = (
        f"detection {error_detection}, correction {error_correction}, "
        f"correctness {solution_correctness}"
    )
    why = {
        RF: "error not detected",
        ED: "detected, not corrected",
        EC: "detected and corrected, final solution not correct",
        RS: "detected, corrected, final solution correct",
    }[scenario]
    return f"label incorrect; {values}: {why} -> {scenario}"


def _verdict_words(verdict: object) -> str:
    return "no verdict parsed" if verdict in (None, "") else f"verdict {verdict}"


def scenario_rule(
    label: str | None, scenario: str, fields: Mapping[str, object], rule: str | None = None
) -> str:
    """Why a judgment got its scenario, in words, from the label and the judge's fields.

    ``"label correct; no verdict parsed -> FD"``. ``rule``, the judge's own words where it
    recorded them, wins; otherwise (runs judged before judges recorded a rule) the rule is
    rebuilt from the offline judge's fields (verdict, answer_matches, flagged_step,
    reference_step) or the official judge's (solution_correctness; error_detection,
    error_correction for incorrect solutions).
    """
    if rule:
        return rule
    if scenario == JUDGE_ERROR:
        return f"label {label}; the judge gave no usable answer -> judge_error (not scored)"
    official = "error_detection" in fields or (
        "solution_correctness" in fields and "verdict" not in fields
    )
    if label == "correct":
        if official:
            value = fields.get("solution_correctness")
            return f"label correct; judge eval_correct = {value} -> {scenario}"
        verdict = fields.get("verdict")
        why = " (an error flagged where there is none)" if verdict == "incorrect" else ""
        return f"label correct; {_verdict_words(verdict)}{why} -> {scenario}"
    if official and "error_detection" in fields:
        try:
            values = [int(str(fields[k])) for k in
                      ("error_detection", "error_correction", "solution_correctness")]  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return f"label incorrect; judge fields {dict(fields)} -> {scenario}"
        return cascade_rule(*values)
    verdict = fields.get("verdict")
    if verdict != "incorrect":
        return f"label incorrect; {_verdict_words(verdict)} (error not detected) -> {scenario}"
    if fields.get("answer_matches"):
        return f"label incorrect; verdict incorrect; final answer matches the gold -> {scenario}"
    flagged, reference = fields.get("flagged_step"), fields.get("reference_step")
    if flagged is not None and flagged == reference:
        return (
            f"label incorrect; verdict incorrect; answer wrong; flagged step {flagged} = "
            f"reference step -> {scenario}"
        )
    return (
        f"label incorrect; verdict incorrect; answer wrong; flagged step "
        f"{flagged if flagged is not None else 'none'} != reference step "
        f"{reference if reference is not None else 'none'} -> {scenario}"
    )
