"""``single_pass``: the paper protocol.

One model call with the official refinement prompt (in ``detect``); ``locate``, ``correct``
and ``verify`` parse that one answer. The judged response is the raw answer, exactly as the
official inference script would submit it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    DataError,
    NodeContext,
    ParsedRefinement,
    RefineState,
    RegisterStrategy,
    Strategy,
    hookimpl,
    parse_refinement,
)


def official_refinement_prompt(ctx: NodeContext, solution: str) -> str:
    """The official refinement prompt for this item and solution."""
    if ctx.prompts is None:
        raise DataError(
            "the official prompts file (mmrefine_official_prompts.json) is required by this "
            "strategy but was not found in the data directory (see `mmrefine data info`)"
        )
    return ctx.prompts.render("refinement", question=ctx.item.question, initial_solution=solution)


def parsed_of(state: RefineState) -> ParsedRefinement:
    """The parsed answer stored by ``detect`` in this round's scratch."""
    parsed = state.get("scratch", {}).get("parsed")
    return parsed if isinstance(parsed, ParsedRefinement) else ParsedRefinement()


class SinglePass(Strategy):
    """The official single-call protocol; later nodes only parse. Reads no options."""

    name: ClassVar[str] = "single_pass"
    description: ClassVar[str] = "paper protocol: one official-prompt call, parsed by the nodes"
    options_doc: ClassVar[dict[str, str] | None] = {}
    uses_official_prompts: ClassVar[bool] = True

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Ask once with the official prompt and parse the verdict."""
        answer = await ctx.ask(official_refinement_prompt(ctx, state.get("solution", "")))
        return self.parse_answer(answer, ctx)

    @staticmethod
    def parse_answer(answer: str, ctx: NodeContext) -> dict[str, Any]:
        """Parse an official-format answer into the detect update."""
        parsed = parse_refinement(answer)
        for problem in parsed.problems:
            if "verdict" in problem or "empty" in problem:
                ctx.problem(problem)
        ctx.parsed(verdict=parsed.verdict)
        return {
            "verdict": parsed.verdict,
            "response": answer,
            "scratch": {"answer": answer, "parsed": parsed},  # per round: replaced
        }

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Parse the first erroneous step from detect's answer."""
        parsed = parsed_of(state)
        if parsed.error_step is None:
            ctx.problem("no erroneous step named")
        ctx.parsed(error_step=parsed.error_step, error_explanation=parsed.error_explanation)
        return {"error_step": parsed.error_step, "error_explanation": parsed.error_explanation}

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Parse the corrected solution from detect's answer."""
        parsed = parsed_of(state)
        if parsed.corrected_solution is None:
            ctx.problem("no corrected solution section")
        ctx.parsed(corrected_solution=parsed.corrected_solution)
        return {"corrected_solution": parsed.corrected_solution}

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Parse the final answer; the single pass ends here (its answer is the response)."""
        parsed = parsed_of(state)
        if parsed.final_answer is None:
            ctx.problem("no 'Final Answer:' found")
        ctx.parsed(final_answer=parsed.final_answer, explanation=parsed.explanation)
        return {
            "final_answer": parsed.final_answer,
            "verified": True,
            "response": state.get("scratch", {}).get("answer", ""),
        }

    def route_after_verify(self, state: RefineState) -> Any:
        """One pass only."""
        return "end"


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``single_pass``."""
    register("single_pass", SinglePass)
