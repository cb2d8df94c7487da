"""The paper protocol as a public base: one official-prompt call that the later nodes parse.

:class:`SinglePass` is what the built-in ``single_pass`` strategy registers, and the base a
plugin subclasses to change one part of the protocol (say, ``detect``'s prompt) and keep the
rest: ``detect`` asks the official refinement prompt once and parses the verdict;
``locate``, ``correct`` and ``verify`` only read that one answer. The judged response is the
raw answer, exactly as the official inference script would submit it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent.errors import DataError
from mmrefine_agent.graph.parsing import ParsedRefinement, parse_refinement
from mmrefine_agent.graph.state import RefineState
from mmrefine_agent.graph.strategy import NodeContext, Strategy


def official_refinement_prompt(ctx: NodeContext, solution: str) -> str:
    """The official refinement prompt for this node's item, reviewing ``solution``.

    Raises DataError when the run has no official prompts file (a strategy that calls this
    declares ``uses_official_prompts = True``, so a run without the file is refused before
    any item, naming the file and where it was looked for).
    """
    if ctx.prompts is None:
        raise DataError(
            "the official prompts file (mmrefine_official_prompts.json) is required by this "
            "strategy but was not found in the data directory (see `mmrefine data info`)"
        )
    return ctx.prompts.render("refinement", question=ctx.item.question, initial_solution=solution)


class SinglePass(Strategy):
    """The official single-call protocol; later nodes only parse. Reads no options.

    Subclass it to change ``detect`` (call :meth:`parse_answer` on the model's answer so the
    other nodes find it) or to add nodes with ``shape``; a subclass that reads options lists
    them in its own ``options_doc``.
    """

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
        """Parse an official-format answer into the detect update (kept for the later nodes)."""
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

    @staticmethod
    def parsed_of(state: RefineState) -> ParsedRefinement:
        """The parsed answer :meth:`parse_answer` stored in this round's scratch."""
        parsed = state.get("scratch", {}).get("parsed")
        return parsed if isinstance(parsed, ParsedRefinement) else ParsedRefinement()

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Parse the first erroneous step from detect's answer."""
        parsed = self.parsed_of(state)
        if parsed.error_step is None:
            ctx.problem("no erroneous step named")
        ctx.parsed(error_step=parsed.error_step, error_explanation=parsed.error_explanation)
        return {"error_step": parsed.error_step, "error_explanation": parsed.error_explanation}

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Parse the corrected solution from detect's answer."""
        parsed = self.parsed_of(state)
        if parsed.corrected_solution is None:
            ctx.problem("no corrected solution section")
        ctx.parsed(corrected_solution=parsed.corrected_solution)
        return {"corrected_solution": parsed.corrected_solution}

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Parse the final answer; the single pass ends here (its answer is the response)."""
        parsed = self.parsed_of(state)
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
