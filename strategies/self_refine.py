"""``self_refine``: feedback, then refine, until the feedback finds nothing to fix.

After Madaan et al. 2023, *Self-Refine: Iterative Refinement with Self-Feedback*
(NeurIPS 2023, arXiv:2303.17651). One model gives FEEDBACK on the current solution and then
REFINES it with that feedback; the loop stops when the feedback finds nothing to fix (the
paper's stop indicator) or after ``max_rounds``. As in the paper, the earlier solutions and
their feedback are shown to later feedback and refine calls (option ``history``).

Nodes (one round = one feedback, and one refinement if it found something):

- ``detect``: the feedback call; its ``Correctness:`` line is the stop indicator and it names
  the first wrong step;
- ``locate``: reads that step from the feedback (no call);
- ``correct``: the refine call;
- ``verify``: no call; the round is confirmed when its feedback found nothing, so every
  refinement is looked at by the next round's feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mmrefine_agent import (
    NodeContext,
    RefineState,
    RegisterStrategy,
    Strategy,
    StrategyConfig,
    hookimpl,
)

from .common import REVIEW_LINES, SOLUTION_LINES, SYSTEM, bool_option, named_step, review, rewritten

FEEDBACK_PROMPT = """Question: {question}
{history}
Current solution:
{solution}

Give feedback on the current solution. Go through it step by step; for each step say
whether it is right and, if not, exactly what should change (be concrete: which quantity,
which operation, which fact from the question or figure). If nothing needs to change, say so.
{review_lines}"""

REFINE_PROMPT = """Question: {question}
{history}
Current solution:
{solution}

Feedback on it:
{feedback}

Improve the solution using the feedback: keep the steps before step {step} that the
feedback accepts, fix what it points out, and finish the solution.
{solution_lines}"""

HISTORY = """
Earlier attempts and the feedback they got (most recent last):
{pairs}
"""


@dataclass(frozen=True, slots=True)
class RefineHistory:
    """What a round hands on: every solution so far and the feedback each received."""

    attempts: tuple[tuple[str, str], ...] = ()


class SelfRefine(Strategy):
    """Feedback then refine, until the feedback finds nothing or ``max_rounds``."""

    name: ClassVar[str] = "self_refine"
    description: ClassVar[str] = "Self-Refine (Madaan et al. 2023): feedback, refine, repeat"
    default_max_rounds: ClassVar[int] = 3
    options_doc: ClassVar[dict[str, str] | None] = {
        "history": "show earlier solutions and their feedback to later calls (default true)"
    }
    carry_type: ClassVar[type[Any] | None] = RefineHistory

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.history = bool_option(self.options, "history", True)

    def _history(self, state: RefineState) -> str:
        carry = state.get("carry")
        if not self.history or not isinstance(carry, RefineHistory) or not carry.attempts:
            return ""
        pairs = "\n\n".join(
            f"Attempt {i}:\n{solution.strip()}\nFeedback {i}:\n{feedback.strip()}"
            for i, (solution, feedback) in enumerate(carry.attempts, 1)
        )
        return HISTORY.format(pairs=pairs)

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """FEEDBACK: step-by-step feedback ending with the stop indicator (the verdict)."""
        feedback = await ctx.ask(
            FEEDBACK_PROMPT.format(
                question=ctx.item.question,
                history=self._history(state),
                solution=state.get("solution", ""),
                review_lines=REVIEW_LINES,
            ),
            system=SYSTEM,
        )
        update = review(ctx, feedback)
        return {**update, "scratch": {"feedback": feedback}}

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The first wrong step named by the feedback (read by detect; no call)."""
        return named_step(state, ctx, "feedback")

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """REFINE: the solution improved with the feedback."""
        step = state.get("error_step")
        refined = await ctx.ask(
            REFINE_PROMPT.format(
                question=ctx.item.question,
                history=self._history(state),
                solution=state.get("solution", ""),
                feedback=state.get("scratch", {}).get("feedback", ""),
                step=step if step is not None else 1,
                solution_lines=SOLUTION_LINES,
            ),
            system=SYSTEM,
        )
        return rewritten(ctx, refined, "refined", "refined_chars")

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """No call: confirmed when the feedback found nothing; hands the history on."""
        verified = state.get("verdict") == "correct"
        ctx.parsed(verified=verified, stop_reason="feedback found nothing" if verified else None)
        carry = state.get("carry")
        attempts = carry.attempts if isinstance(carry, RefineHistory) else ()
        feedback = str(state.get("scratch", {}).get("feedback", ""))
        pair = (state.get("solution", ""), feedback)
        return {"verified": verified, "carry_next": RefineHistory((*attempts, pair))}

    def route_after_verify(self, state: RefineState) -> str:
        """Another round on the revision unless confirmed.

        Nothing revised: stop (a re-ask of the same prompt would only repeat the feedback).
        """
        if state.get("verified") is True or not state.get("corrected_solution"):
            return "end"
        return "detect"


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``self_refine``."""
    register("self_refine", SelfRefine)
