"""``best_of_n``: sample N refinements, let a verifier call pick the best one.

Best-of-N sampling with a verifier, the reranking baseline of Cobbe et al. 2021 (*Training
Verifiers to Solve Math Word Problems*, arXiv:2110.14168), here with the model itself as the
verifier (no trained verifier, no gold answer): ``n`` reviews of the solution are sampled
with the official refinement prompt at ``temperature``; one verifier call reads them all and
chooses the most accurate one, which is then judged exactly like a single-pass answer.

Nodes (one round): ``begin_round -> sample -> choose -> detect -> ...``

- ``sample``: ``n`` sampled calls (kept apart in the call cache);
- ``choose``: the verifier call (skipped when all samples are the same text: there is
  nothing to choose);
- ``detect``, ``locate``, ``correct``, ``verify``: parse the chosen review, as in
  ``single_pass`` (its verdict, first wrong step, correction, final answer).
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


class BestOfN(SinglePass):
    """``n`` sampled reviews, one verifier call to pick one, parsed as a single pass."""

    name: ClassVar[str] = "best_of_n"
    description: ClassVar[str] = "N sampled refinements, a verifier call picks one"
    options_doc: ClassVar[dict[str, str] | None] = {
        "n": "how many refinements are sampled (default 4)",
        "temperature": "sampling temperature of the samples (default 0.8)",
    }

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.n = int_option(self.options, "n", 4, 1, 16)
        self.temperature = float_option(self.options, "temperature", 0.8, 0.0, 2.0)

    def shape(self, graph: GraphShape) -> None:
        """``sample`` and ``choose`` on the way into ``detect``."""
        graph.insert_before("detect", "sample", self.sample)
        graph.insert_before("detect", "choose", self.choose)

    async def sample(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """``n`` reviews with the official prompt, sampled at ``temperature``."""
        prompt = official_refinement_prompt(ctx, state.get("solution", ""))
        samples = await asyncio.gather(
            *(
                ctx.ask(
                    prompt,
                    params={"temperature": self.temperature},
                    sample=f"sample {i + 1}",
                )
                for i in range(self.n)
            )
        )
        ctx.parsed(samples=len(samples), distinct=len(set(samples)))
        return {"scratch": {"samples": list(samples)}}

    async def choose(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The verifier call: which sample is the most accurate review."""
        samples = list(state.get("scratch", {}).get("samples", []))
        if len(set(samples)) <= 1:
            ctx.parsed(choice=1, reason="all samples are the same text: nothing to choose")
            return {"scratch": {"samples": samples, "chosen": samples[0] if samples else ""}}
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
        return {"scratch": {"samples": samples, "chosen": samples[choice - 1]}}

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The chosen review's verdict (parsed; no call)."""
        return self.parse_answer(str(state.get("scratch", {}).get("chosen", "")), ctx)


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``best_of_n``."""
    register("best_of_n", BestOfN)
