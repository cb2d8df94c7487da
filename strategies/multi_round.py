"""``multi_round``: one model call per node, looping until verify confirms or rounds run out.

Each node has its own prompt (below). A round reviews the current solution: ``detect``
decides whether it has an error, ``locate`` names the first wrong step, ``correct`` rewrites
from there, ``verify`` checks the result. An unconfirmed round starts another on the
corrected solution, and its ``detect`` is told what the verifier doubted (without that, a
deterministic model would repeat the previous round word for word). The judged response
summarises the whole refinement in the official format (first error found, latest
correction, final answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from mmrefine_agent import (
    NodeContext,
    RefineState,
    RegisterStrategy,
    Strategy,
    hookimpl,
    parse_error_step,
    parse_final_answer,
    parse_labelled,
    parse_verdict,
)

from .common import rewritten

SYSTEM = "You are a mathematical expert who reviews solutions step by step with great care."

DETECT_PROMPT = """Question: {question}

Proposed solution:
{solution}

Check every step of the proposed solution for mathematical, logical, calculation and
perception errors (read the figure carefully if there is one). Do not solve the problem
from scratch unless needed to check a step.
End with exactly one line:
Correctness: Correct   (no step has an error)
or
Correctness: Incorrect   (some step has an error)"""

DOUBT_NOTE = """

An independent check of this solution in the previous round was not convinced:
{doubt}
Take this into account, but judge every step yourself."""

LOCATE_PROMPT = """Question: {question}

Proposed solution:
{solution}

A reviewer found that this solution contains an error:
{review}

Identify the FIRST step that is wrong. Answer with exactly one line:
Error found in step N: <one-sentence explanation of the error>"""

CORRECT_PROMPT = """Question: {question}

Proposed solution:
{solution}

The first error is in step {step}: {explanation}

Keep the correct steps before step {step}. Rewrite the solution from step {step} on,
correctly and completely, numbering the steps. End with:
Final Answer: <the final answer>"""

VERIFY_PROMPT = """Question: {question}

Solution to check:
{solution}

Verify this solution independently: recheck each step and the final answer.
End with two lines:
Verification: Confirmed   (or: Verification: Rejected)
Final Answer: <the final answer you believe is right>"""

_EXPLAINED = re.compile(
    r"step\s*+\d++\s*+\**+\s*+[:\-]\s*(?:\*+\s*)?(?P<why>[^\n]+)", re.IGNORECASE
)
_CONFIRMED = re.compile(r"\b(confirm\w*|correct|valid|yes|pass\w*)\b", re.IGNORECASE)
_REJECTED = re.compile(r"\b(reject\w*|incorrect|invalid|no|fail\w*)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MultiRoundCarry:
    """What a round hands to the next: the verifier's doubts."""

    doubt: str


class MultiRound(Strategy):
    """One call per node; loops on the corrected solution until verified.

    Reads no options. A rejected round hands the verifier's answer on as a
    :class:`MultiRoundCarry`.
    """

    name: ClassVar[str] = "multi_round"
    description: ClassVar[str] = "a call per node, looping until verify confirms or max_rounds"
    default_max_rounds: ClassVar[int] = 3
    options_doc: ClassVar[dict[str, str] | None] = {}
    carry_type: ClassVar[type[Any] | None] = MultiRoundCarry

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Ask whether the current solution has an error."""
        solution = state.get("solution", "")
        prompt = DETECT_PROMPT.format(question=ctx.item.question, solution=solution)
        carry = state.get("carry")
        doubt = carry.doubt if isinstance(carry, MultiRoundCarry) else None
        if doubt:  # the previous round's verifier rejected: say why, or the re-ask is identical
            prompt += DOUBT_NOTE.format(doubt=doubt.strip())
        answer = await ctx.ask(prompt, system=SYSTEM)
        verdict = parse_verdict(answer)
        if verdict is None:
            ctx.problem("no 'Correctness:' verdict (no verdict: never read as Correct)")
        ctx.parsed(verdict=verdict)
        return {
            "verdict": verdict,
            "scratch": {**state.get("scratch", {}), "review": answer},
        }

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Ask for the first erroneous step."""
        answer = await ctx.ask(
            LOCATE_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                review=state.get("scratch", {}).get("review", ""),
            ),
            system=SYSTEM,
        )
        step = parse_error_step(answer)
        if step is None:
            ctx.problem("no 'Error found in step N' line")
        named = _EXPLAINED.search(answer)
        explanation = (named.group("why").strip() if named else answer.strip()[:500]) or None
        ctx.parsed(error_step=step, error_explanation=explanation)
        return {"error_step": step, "error_explanation": explanation}

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Ask for the solution rewritten from the erroneous step."""
        step = state.get("error_step")
        answer = await ctx.ask(
            CORRECT_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                step=step if step is not None else 1,
                explanation=state.get("error_explanation") or "(not given)",
            ),
            system=SYSTEM,
        )
        return rewritten(ctx, answer, "corrected", "corrected_chars")

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Check the corrected solution (or the original, when no error was found)."""
        solution = state.get("corrected_solution") or state.get("solution", "")
        answer = await ctx.ask(
            VERIFY_PROMPT.format(question=ctx.item.question, solution=solution), system=SYSTEM
        )
        label = parse_labelled(answer, "Verification")
        verified: bool | None
        if label is None:
            ctx.problem("no 'Verification:' line; treated as not confirmed")
            verified = False
        else:
            verified = bool(_CONFIRMED.search(label)) and not _REJECTED.search(label)
        final = parse_final_answer(answer) or state.get("final_answer")
        ctx.parsed(verification=label, verified=verified, final_answer=final)
        update: dict[str, Any] = {"verified": verified, "final_answer": final}
        if not verified:  # the next round's detect hears the verifier's doubts
            update["carry_next"] = MultiRoundCarry(doubt=answer)
        return update


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``multi_round``."""
    register("multi_round", MultiRound)
