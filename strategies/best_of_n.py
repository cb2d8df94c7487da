"""``best_of_n``: sample N refinements, let a verifier call pick the best one.

Best-of-N sampling with a verifier, the reranking baseline of Cobbe et al. 2021 (*Training
Verifiers to Solve Math Word Problems*, arXiv:2110.14168), here with the model itself as the
verifier (no trained verifier, no gold answer): ``n`` reviews of the solution are sampled
with the official refinement prompt at ``temperature``; one verifier call reads them all and
chooses the most accurate one, which is then judged exactly like a single-pass answer.

Nodes (one round): ``begin_round -> sample -> choose -> detect -> ...``

- ``sample``: each of the ``n`` samples a parallel branch (a LangGraph ``Send``, traced as a
  step of its own), one sampled call (kept apart in the call cache); they join in
  ``BestOfNState.samples``;
- ``choose``: the verifier call (skipped when all samples are the same text: there is
  nothing to choose);
- ``detect``, ``locate``, ``correct``, ``verify``: parse the chosen review, as in
  ``single_pass`` (its verdict, first wrong step, correction, final answer).
"""

from __future__ import annotations

import operator
import re
from typing import Annotated, Any, ClassVar

from mmrefine_agent import (
    BEGIN_ROUND,
    GraphShape,
    NodeContext,
    RefineState,
    RegisterStrategy,
    StrategyConfig,
    hookimpl,
    parse_labelled,
)

from .common import SYSTEM, float_option, int_option, numbered
from .single_pass import SinglePass, official_refinement_prompt

CHOOSE_PROMPT = """Question: {question}

Proposed solution:
{solution}

{n} reviews of this solution were written independently. Each says whether the solution is
correct, names the first wrong step if there is one, and corrects it:

{reviews}

Check the reviews against the question and the solution yourself. Which review is the most
accurate (right verdict, right first wrong step, right corrected answer)? Explain briefly,
then end with exactly one line:
Choice: <the number of the best review>"""

_NUMBER = re.compile(r"\d+")


class BestOfNState(RefineState, total=False):
    """best_of_n's own state fields (each round starts them empty)."""

    sample: int
    """Which sample a branch is (0-based; set by the ``Send`` that starts the branch)."""
    samples: Annotated[list[tuple[int, str]], operator.add]
    """(sample, review): each sample's branch appends its own; read in sample order."""
    chosen: str | None
    """The review ``choose`` picked (what ``detect`` parses)."""


class BestOfN(SinglePass):
    """``n`` sampled reviews, one verifier call to pick one, parsed as a single pass."""

    name: ClassVar[str] = "best_of_n"
    description: ClassVar[str] = "N sampled refinements, a verifier call picks one"
    options_doc: ClassVar[dict[str, str] | None] = {
        "n": "how many refinements are sampled (default 4)",
        "temperature": "sampling temperature of the samples (default 0.8)",
    }
    state_type: ClassVar[type[Any]] = BestOfNState

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.n = int_option(self.options, "n", 4, 1, 16)
        self.temperature = float_option(self.options, "temperature", 0.8, 0.0, 2.0)

    def shape(self, graph: GraphShape) -> None:
        """Each sample a parallel branch (a ``Send`` to ``sample``), then ``choose``, ``detect``."""
        from langgraph.types import Send

        def to_samples(state: RefineState) -> list[Any]:
            return [Send("sample", {"sample": i}) for i in range(self.n)]

        graph.add_node("sample", self.sample)
        graph.add_node("choose", self.choose)
        graph.add_route(BEGIN_ROUND, to_samples, ["sample"])
        graph.add_edge("sample", "choose")
        graph.add_edge("choose", "detect")

    async def sample(self, state: BestOfNState, ctx: NodeContext) -> dict[str, Any]:
        """One review with the official prompt, sampled at ``temperature``."""
        index = int(state.get("sample", 0))
        prompt = official_refinement_prompt(ctx, state.get("solution", ""))
        text = await ctx.ask(
            prompt, params={"temperature": self.temperature}, sample=f"sample {index + 1}"
        )
        ctx.parsed(sample=index + 1)
        return {"samples": [(index, text)]}

    async def choose(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The verifier call: which sample is the most accurate review."""
        found: list[tuple[int, str]] = state.get("samples", [])  # type: ignore[assignment]
        samples = [text for _, text in sorted(found)]
        ctx.parsed(samples=len(samples), distinct=len(set(samples)))
        if len(set(samples)) <= 1:
            ctx.parsed(choice=1, reason="all samples are the same text: nothing to choose")
            return {"chosen": samples[0] if samples else ""}
        verdict = await ctx.ask(
            CHOOSE_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                n=len(samples),
                reviews=numbered(samples, "Review"),
            ),
            system=SYSTEM,
        )
        label = parse_labelled(verdict, "Choice") or ""
        number = _NUMBER.search(label)
        choice = int(number.group()) if number else 0
        if not 1 <= choice <= len(samples):
            ctx.problem(f"no valid 'Choice: 1..{len(samples)}' line; the first sample is kept")
            choice = 1
        ctx.parsed(choice=choice)
        return {"chosen": samples[choice - 1]}

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The chosen review's verdict (parsed; no call)."""
        return self.parse_answer(str(state.get("chosen") or ""), ctx)


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``best_of_n``."""
    register("best_of_n", BestOfN)
