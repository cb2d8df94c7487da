"""The six MMRefine scenarios, their official names, and the explicit judge-error outcome."""

from __future__ import annotations

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
