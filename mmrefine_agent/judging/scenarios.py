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


def correct_rule(evidence: str, scenario: str) -> str:
    """The decision for a correct initial solution, in words (``label correct; ... -> VS``)."""
    return f"label correct; {evidence} -> {scenario}"


def verdict_rule(label: str | None, verdict: object, scenario: str) -> str:
    """The offline judge's verdict step in words (``label correct; no verdict parsed -> FD``)."""
    evidence = f"verdict {verdict}" if verdict else "no verdict parsed"
    if label == "correct":
        return correct_rule(evidence, scenario)
    return f"label incorrect; {evidence} -> {scenario}"


def scenario_rule(
    label: str | None, scenario: str, fields: Mapping[str, object], rule: str | None = None
) -> str:
    """The rule that produced a judged scenario, in words.

    The judge's own words when it recorded them, else rebuilt from the judgment's fields (runs
    judged before judges recorded a rule).
    """
    if rule:
        return rule
    if scenario == JUDGE_ERROR:
        return "judge error: no scenario (the judge failed or its reply could not be parsed)"
    keys = ("error_detection", "error_correction", "solution_correctness")
    values = [fields.get(k) for k in keys]
    if label == "incorrect" and all(isinstance(v, int) for v in values):
        detection, correction, correctness = (int(str(v)) for v in values)
        return cascade_rule(detection, correction, correctness)
    if label == "correct" and isinstance(fields.get("solution_correctness"), int):
        return correct_rule(f"judge eval_correct = {fields['solution_correctness']}", scenario)
    if "verdict" in fields and (label == "correct" or scenario == RF):
        return verdict_rule(label, fields.get("verdict"), scenario)
    return f"label {label or 'unknown'} -> {scenario} (the judge recorded no rule)"
