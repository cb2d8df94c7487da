"""What the published strategies share: a review format, its parser, votes and option values.

The prompts of ``self_refine``, ``critic``, ``cove`` and their kin ask for the same closing
lines, so every node that reviews a solution is parsed the same way and the fixed nodes mean
the same thing in every strategy: ``detect`` the verdict on the reviewed solution, ``locate``
the first wrong step, ``correct`` the rewritten solution, ``verify`` the round's outcome.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from mmrefine_agent import (
    ConfigError,
    NodeContext,
    parse_error_step,
    parse_final_answer,
    parse_labelled,
    parse_verdict,
)

SYSTEM = "You are a careful mathematician who reviews solutions step by step."

REVIEW_LINES = """End with these lines, in this order:
Error found in step N: <one sentence on what is wrong>   (only when some step is wrong:
                                                          the FIRST wrong step)
Correctness: Correct   (or: Correctness: Incorrect)
Final Answer: <the answer the solution reaches if it is right, else the right answer>"""

SOLUTION_LINES = """Number the steps ("Step 1:", "Step 2:", ...) and end with:
Final Answer: <the final answer>"""


def rewritten(ctx: NodeContext, text: str, kind: str, size_key: str) -> dict[str, Any]:
    """A rewritten solution as a node's update: the text and its final answer.

    A missing ``Final Answer:`` is recorded as a parse problem naming the ``kind`` of solution;
    the final answer and the text's length (as ``size_key``) are recorded as parsed.
    """
    final = parse_final_answer(text)
    if final is None:
        ctx.problem(f"no 'Final Answer:' in the {kind} solution")
    ctx.parsed(**{"final_answer": final, size_key: len(text)})
    return {"corrected_solution": text.strip() or None, "final_answer": final}


def review(ctx: NodeContext, answer: str) -> dict[str, Any]:
    """A review's verdict, first wrong step, explanation and final answer (recorded as parsed).

    An answer without a verdict is recorded as a parse problem (never read as Correct).
    """
    verdict = parse_verdict(answer)
    step = parse_error_step(answer) if verdict == "incorrect" else None
    explanation = parse_labelled(answer, f"Error found in step {step}") if step else None
    final = parse_final_answer(answer)
    if verdict is None:
        ctx.problem("no 'Correctness:' verdict (no verdict: never read as Correct)")
    elif verdict == "incorrect" and step is None:
        ctx.problem("verdict is Incorrect but no 'Error found in step N' line")
    ctx.parsed(verdict=verdict, error_step=step, error_explanation=explanation, final_answer=final)
    return {
        "verdict": verdict,
        "error_step": step,
        "error_explanation": explanation,
        "final_answer": final,
    }


def named_step(state: Mapping[str, Any], ctx: NodeContext, source: str) -> dict[str, Any]:
    """A locate node that reads the wrong step ``detect`` parsed from ``source`` (no call)."""
    step = state.get("error_step")
    ctx.parsed(error_step=step, error_explanation=state.get("error_explanation"))
    if step is None:
        ctx.problem(f"the {source} names no wrong step")
    return {"error_step": step, "error_explanation": state.get("error_explanation")}


def answer_key(answer: str | None) -> str:
    """A normal form for counting votes: case, spaces, dollars and boxes ignored."""
    if not answer:
        return ""
    text = unbox_lines(answer.strip().lower())
    return re.sub(r"[\s$.]+", "", text)


def unbox_lines(text: str) -> str:
    r"""Each line's ``\boxed{...}`` replaced by what it holds (first ``\boxed{`` to last ``}``).

    What a regex substitution of ``\\boxed\{(.*)\}`` by its group does, in one pass: that
    pattern rescans the rest of a line from every ``\boxed{``, which is quadratic on a
    degenerate answer.
    """
    if "\\boxed{" not in text:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        start = line.find("\\boxed{")
        end = line.rfind("}")
        if start >= 0 and end >= start + 7:
            lines[index] = line[:start] + line[start + 7 : end] + line[end + 1 :]
    return "\n".join(lines)


def majority(values: Iterable[Any]) -> Any:
    """The most common value other than None/"" (ties: the first seen); None if there is none."""
    seen = [v for v in values if v not in (None, "")]
    if not seen:
        return None
    counts = Counter(seen)
    best = max(counts.values())
    return next(v for v in seen if counts[v] == best)


def int_option(options: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A whole-number option in ``low..high`` (a config error names the option otherwise)."""
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"strategy.options.{name}: expected a whole number in {low}..{high}, got {value!r}"
        )
    return value


def float_option(
    options: Mapping[str, Any], name: str, default: float, low: float, high: float
) -> float:
    """A number option in ``low..high`` (a config error names the option otherwise)."""
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(
            f"strategy.options.{name}: expected a number in {low}..{high}, got {value!r}"
        )
    return float(value)


def bool_option(options: Mapping[str, Any], name: str, default: bool) -> bool:
    """A true/false option (a config error names the option otherwise)."""
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"strategy.options.{name}: expected true or false, got {value!r}")
    return value


def numbered(texts: Iterable[str], label: str) -> str:
    """Several texts in one prompt, each under ``label 1:``, ``label 2:``, ..."""
    return "\n\n".join(f"{label} {i}:\n{text.strip()}" for i, text in enumerate(texts, 1))
