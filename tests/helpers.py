"""Helpers shared by tests: scripted answers in the official format."""

from __future__ import annotations


def official_answer(correct: bool, final: str = "42", step: int = 2) -> str:
    if correct:
        return (
            "Review and Correction (if applicable):\nStep 1: fine.\nStep 2: fine.\n"
            "Overall Assessment:\nCorrectness: Correct\nExplanation: all good.\n"
            f"Final Answer: {final}"
        )
    return (
        "Review and Correction (if applicable):\nStep 1: fine.\n"
        f"Error found in step {step}: the sign is wrong.\nCorrected solution from step {step}:\n"
        f"Step {step}: fixed.\nOverall Assessment:\nCorrectness: Incorrect\n"
        f"Explanation: step {step} was wrong.\nFinal Answer: {final}"
    )
