"""``cove``: plan verification questions, answer each on its own, then revise.

After Dhuliawala et al. 2023, *Chain-of-Verification Reduces Hallucination in Large Language
Models* (arXiv:2309.11495), in its **factored** form: the proposed solution plays the
baseline response; the model plans verification questions about it, answers every question
in a call of its own that does not see the solution (so the solution's mistakes cannot leak
into the checks), and then writes the final, verified response.

Nodes (one round): ``begin_round -> plan_checks -> answer_checks -> detect -> ...``

- ``plan_checks``: one call listing at most ``questions`` verification questions;
- ``answer_checks``: one call per question (the question and figure, not the solution);
- ``detect``: one call comparing the solution with the verified facts: its verdict, first
  wrong step and answer;
- ``locate``: reads that step (no call);
- ``correct``: the final verified response: the solution rewritten consistently with the
  verified facts;
- ``verify``: no call; CoVe ends with its revision (one round).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, ClassVar

from mmrefine_agent import (
    GraphShape,
    NodeContext,
    RefineState,
    RegisterStrategy,
    Strategy,
    StrategyConfig,
    hookimpl,
)

from .common import REVIEW_LINES, SOLUTION_LINES, SYSTEM, int_option, review, rewritten

PLAN_PROMPT = """Question: {question}

Proposed solution:
{solution}

Write at most {n} short verification questions whose answers would show whether the
solution's facts, readings of the figure and intermediate results are right. Each question
must be answerable on its own, without seeing the solution (e.g. "What is 17 * 23?", "How
many edges does the figure show?"). Write one per line, numbered "1.", "2.", ..."""

CHECK_PROMPT = """Here is a problem, for context:
{question}

Answer this one question about it, precisely and briefly (do not solve the whole problem):
{check}"""

DETECT_PROMPT = """Question: {question}

Proposed solution:
{solution}

Verification questions, each answered independently of the solution:
{checks}

Compare the solution with these answers. A step that disagrees with a verified answer is
wrong unless the verified answer itself is clearly mistaken.
{review_lines}"""

REVISE_PROMPT = """Question: {question}

Proposed solution:
{solution}

Verified facts:
{checks}

The first wrong step is step {step}: {explanation}
Write the final, verified solution: keep the steps before step {step}, and from step {step}
on use the verified facts.
{solution_lines}"""

_MARKER = re.compile(r"\s*+(?:\d++[.)]|[-*])")


def verification_questions(plan: str, limit: int) -> list[str]:
    """The numbered (or bulleted) lines of a plan, at most ``limit``.

    Line by line (linear in the plan's length): a marker line's text, stripped; a marker
    alone on its line takes the next line that has text.
    """
    lines = plan.split("\n")
    questions: list[str] = []
    index = 0
    while index < len(lines) and len(questions) < limit:
        line = lines[index]
        index += 1
        marker = _MARKER.match(line)
        if marker is None:
            continue
        question = line[marker.end() :].strip()
        if not question:
            while index < len(lines) and not lines[index].strip():
                index += 1
            if index == len(lines):
                break
            question = lines[index].strip()
            index += 1
        questions.append(question)
    return questions


class ChainOfVerification(Strategy):
    """Plan checks, answer each independently, judge the solution against them, revise."""

    name: ClassVar[str] = "cove"
    description: ClassVar[str] = "Chain-of-Verification (Dhuliawala et al. 2023), factored"
    options_doc: ClassVar[dict[str, str] | None] = {
        "questions": "the most verification questions planned and answered (default 3)"
    }

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.questions = int_option(self.options, "questions", 3, 1, 10)

    def shape(self, graph: GraphShape) -> None:
        """``plan_checks`` and ``answer_checks`` on the way into ``detect``."""
        graph.insert_before("detect", "plan_checks", self.plan_checks)
        graph.insert_before("detect", "answer_checks", self.answer_checks)

    async def plan_checks(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """One call: the verification questions."""
        plan = await ctx.ask(
            PLAN_PROMPT.format(
                question=ctx.item.question, solution=state.get("solution", ""), n=self.questions
            ),
            system=SYSTEM,
        )
        questions = verification_questions(plan, self.questions)
        if not questions:
            ctx.problem("no numbered verification questions in the plan")
        ctx.parsed(questions=questions)
        return {"scratch": {"questions": questions}}

    async def answer_checks(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """One call per question, each without the solution (factored verification)."""
        questions = list(state.get("scratch", {}).get("questions", []))
        answers = await asyncio.gather(
            *(
                ctx.ask(CHECK_PROMPT.format(question=ctx.item.question, check=q), system=SYSTEM)
                for q in questions
            )
        )
        ctx.parsed(answered=len(answers))
        checks = [(q, a.strip()) for q, a in zip(questions, answers, strict=True)]
        return {"scratch": {"questions": questions, "checks": checks}}

    @staticmethod
    def _checks(state: RefineState) -> str:
        checks = state.get("scratch", {}).get("checks") or []
        lines = [f"Q{i}: {q}\nA{i}: {a}" for i, (q, a) in enumerate(checks, 1)]
        return "\n".join(lines) or "(no verification questions could be planned)"

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """One call: the solution against the verified facts."""
        answer = await ctx.ask(
            DETECT_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                checks=self._checks(state),
                review_lines=REVIEW_LINES,
            ),
            system=SYSTEM,
        )
        return review(ctx, answer)

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The first wrong step named by detect (no call)."""
        step = state.get("error_step")
        ctx.parsed(error_step=step, error_explanation=state.get("error_explanation"))
        if step is None:
            ctx.problem("detect named no wrong step")
        return {"error_step": step, "error_explanation": state.get("error_explanation")}

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The final verified response."""
        step = state.get("error_step") or 1
        revised = await ctx.ask(
            REVISE_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                checks=self._checks(state),
                step=step,
                explanation=state.get("error_explanation") or "(not given)",
                solution_lines=SOLUTION_LINES,
            ),
            system=SYSTEM,
        )
        return rewritten(ctx, revised, "verified", "revised_chars")

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """No call: the verified response is final (CoVe has one round)."""
        ctx.parsed(final_answer=state.get("final_answer"))
        return {"verified": True}

    def route_after_verify(self, state: RefineState) -> str:
        """One round."""
        return "end"


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``cove``."""
    register("cove", ChainOfVerification)
