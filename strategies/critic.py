"""``critic``: critique the answer, revise it, until the answer stops changing.

After Gou et al. 2024, *CRITIC: Large Language Models Can Self-Correct with Tool-Interactive
Critiquing* (ICLR 2024, arXiv:2305.11738), in its **no-tool variant** ("CRITIC w/o Tool"):
the model itself verifies the answer (is it plausible for the question? does each step hold?)
instead of calling a search engine or an interpreter, then revises the solution given its
critique. As in the paper, the loop stops when a revision leaves the answer unchanged (or
the critique finds nothing wrong), at most ``max_rounds`` times.

Nodes:

- ``detect``: the critique call (plausibility of the answer, then each step); its verdict,
  the first wrong step, and the answer it read from the solution (``Proposed Answer:``);
- ``locate``: reads the critique's first wrong step (no call);
- ``correct``: the revise call;
- ``verify``: no call; confirmed when the critique found nothing, or when the revision's
  answer equals the answer it revised (option ``stop_when_unchanged``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    NodeContext,
    RefineState,
    RegisterStrategy,
    Strategy,
    StrategyConfig,
    hookimpl,
    parse_labelled,
)

from .common import (
    REVIEW_LINES,
    SOLUTION_LINES,
    SYSTEM,
    answer_key,
    bool_option,
    named_step,
    review,
    rewritten,
)

CRITIQUE_PROMPT = """Question: {question}

Proposed solution:
{solution}

Critique this solution. First write the answer it arrives at as:
Proposed Answer: <its final answer>
Then check that answer: is it plausible for the question (units, range, sign, the options
offered, what the figure shows)? Then check whether each step is true and follows from the
ones before. Say what the problems are, if any.
{review_lines}"""

REVISE_PROMPT = """Question: {question}

Proposed solution:
{solution}

A critique of it:
{critique}

Based on the critique, write a revised solution: keep what the critique accepts, correct
what it shows to be wrong, starting from step {step}.
{solution_lines}"""


class Critic(Strategy):
    """Critique then revise (no tools), until the answer stops changing or ``max_rounds``."""

    name: ClassVar[str] = "critic"
    description: ClassVar[str] = "CRITIC without tools (Gou et al. 2024): critique, revise"
    default_max_rounds: ClassVar[int] = 3
    options_doc: ClassVar[dict[str, str] | None] = {
        "stop_when_unchanged": "stop once a revision keeps the answer it revised (default true)"
    }

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.stop_when_unchanged = bool_option(self.options, "stop_when_unchanged", True)

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The critique: the proposed answer's plausibility, then every step."""
        critique = await ctx.ask(
            CRITIQUE_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                review_lines=REVIEW_LINES,
            ),
            system=SYSTEM,
        )
        proposed = parse_labelled(critique, "Proposed Answer")
        update = review(ctx, critique)
        ctx.parsed(proposed_answer=proposed)
        return {**update, "scratch": {"critique": critique, "proposed": proposed}}

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The first wrong step the critique names (no call)."""
        return named_step(state, ctx, "critique")

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The revision, given the critique."""
        step = state.get("error_step")
        revised = await ctx.ask(
            REVISE_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                critique=state.get("scratch", {}).get("critique", ""),
                step=step if step is not None else 1,
                solution_lines=SOLUTION_LINES,
            ),
            system=SYSTEM,
        )
        return rewritten(ctx, revised, "revised", "revised_chars")

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """No call: confirmed when nothing was found, or (optionally) the answer is unchanged."""
        proposed = state.get("scratch", {}).get("proposed")
        final = state.get("final_answer")
        unchanged = bool(final) and answer_key(final) == answer_key(proposed)
        if state.get("verdict") == "correct":
            verified, reason = True, "the critique found nothing wrong"
        elif state.get("corrected_solution") and unchanged and self.stop_when_unchanged:
            verified, reason = True, "the revision kept the answer"
        else:
            verified, reason = False, None
        ctx.parsed(verified=verified, answer_unchanged=unchanged, stop_reason=reason)
        return {"verified": verified}

    def route_after_verify(self, state: RefineState) -> str:
        """Another round on the revision unless confirmed.

        Nothing revised: stop (a re-ask of the same prompt would only repeat the critique).
        """
        if state.get("verified") is True or not state.get("corrected_solution"):
            return "end"
        return "detect"


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``critic``."""
    register("critic", Critic)
