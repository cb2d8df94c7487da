"""A loopback "model" for the tool-using strategies: it answers each of their prompts in the
form asked, calls tools on the first turn of a tool loop, and judges like the official judge
(requests for the model named ``judge``)."""

from __future__ import annotations

from typing import Any

from fake_openai import JudgeScript, official_answer

CALC = {"name": "calculator", "arguments": {"expression": "4*2"}}
PYTHON = {"name": "python", "arguments": {"code": "print(4 * 2)"}}
ZOOM = {"name": "zoom", "arguments": {"box": [0.0, 0.0, 0.5, 0.5]}}
CLAIMS = (
    "Claim 1 (step 1): the figure shows a side of length 5\n"
    "Check 1: How long is the marked side?\n"
    "**Claim 2 (step 2):** the two marked angles are equal\n"
    "Check 2: Are the two marked angles equal?"
)
REVIEW_WRONG = "Step 1: fine.\nError found in step 2: 4 * 2 is 8.\nCorrectness: Incorrect\n"
FIXED = "Step 1: fixed.\nStep 2: 4 * 2 = 8.\nFinal Answer: 8"


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if p.get("type") == "text")


def first_user(body: dict[str, Any]) -> str:
    return next(text_of(m) for m in body["messages"] if m["role"] == "user")


def has_results(body: dict[str, Any]) -> bool:
    return any(m["role"] == "tool" for m in body["messages"])


class ToolAgents:
    """The server's answer function; ``judge`` answers the official judge prompts."""

    def __init__(self) -> None:
        self.judge = JudgeScript()

    def __call__(self, body: dict[str, Any]) -> str | dict[str, Any]:
        if body.get("model") == "judge":
            return self.judge(body)
        prompt = first_user(body)
        tooled = has_results(body)
        if "you may act with tools" in prompt:  # tool_refine
            if not tooled:
                return {"content": "I will check step 2.", "tool_calls": [CALC, ZOOM]}
            return official_answer(False, "8", step=2)
        if "Verify this solution with the tools" in prompt:  # critic_tools
            if "Step 1: fixed." in prompt:  # round 2 reviews the revision: clean
                return "Proposed Answer: 8\nStep 1: fine.\nCorrectness: Correct\nFinal Answer: 8"
            if not tooled:
                return {"content": None, "tool_calls": [PYTHON, CALC]}
            return f"Proposed Answer: 9\nThe tools give 8.\n{REVIEW_WRONG}Final Answer: 8"
        if "Based on the critique, write a revised solution" in prompt:  # critic's revise
            return FIXED
        if "Do not judge the solution yet" in prompt:  # lookback: list the claims
            return CLAIMS
        if "Question about the image:" in prompt:  # lookback: one check
            if not tooled:
                return {"content": None, "tool_calls": [ZOOM]}
            return "The zoomed region shows it.\nObservation: 4, not 5"
        if "Before this review, each claim" in prompt:  # lookback: the critique
            if "Step 1: fixed." in prompt:  # round 2 reviews the rewrite: clean
                return "Step 1: fine.\nCorrectness: Correct\nFinal Answer: 8"
            return f"{REVIEW_WRONG}Final Answer: 8"
        if "Write a corrected solution" in prompt:  # lookback: the rewrite
            return FIXED
        return official_answer(True, "8")
