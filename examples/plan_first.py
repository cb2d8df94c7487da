"""``plan_first``: a strategy that plans how to check a solution before ``detect`` reads it.

The example of a strategy that shapes its graph: it adds a ``plan`` node before ``detect``.
Run it from the repository root with::

    mmrefine run configs/quickstart.yaml --plugin examples/plan_first.py
        --set strategy.name=plan_first --out runs/plan_first   (one command line)
    mmrefine graph plan_first --plugin examples/plan_first.py
    PYTHONPATH=examples mmrefine graph plan_first --plugin plan_first   (as a module)

The ``plan`` node makes one model call (traced as its own step in ``steps.jsonl``) and hands
the plan to ``detect`` through the round's typed state; ``detect`` then asks the official
refinement prompt with the plan attached. Everything after ``detect`` is the paper protocol.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    GraphShape,
    NodeContext,
    RefineState,
    RegisterStrategy,
    SinglePass,
    hookimpl,
    official_refinement_prompt,
)

PLAN_PROMPT = """Question: {question}

Proposed solution:
{solution}

Before checking this solution, write a short plan (at most {points} numbered points) of what must
be verified: which quantities, which steps, which facts from the figure, if there is one.
Do not check the solution yet."""

WITH_PLAN = """

Use this checking plan while you review:
{plan}"""


class PlanFirst(SinglePass):
    """Plan the check, then the official single pass with the plan attached.

    Options: ``plan_points`` (default 5), the most numbered points the plan may have.
    """

    name: ClassVar[str] = "plan_first"
    description: ClassVar[str] = "example: a plan node before detect, then the paper protocol"
    options_doc: ClassVar[dict[str, str] | None] = {
        "plan_points": "the most numbered points the plan may have (default 5)"
    }

    def shape(self, graph: GraphShape) -> None:
        """Add ``plan`` on the way into ``detect`` (begin_round -> plan -> detect)."""
        graph.insert_before("detect", "plan", self.plan)

    async def plan(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """One call that drafts the checking plan."""
        points = int(self.options.get("plan_points", 5))
        plan = await ctx.ask(
            PLAN_PROMPT.format(
                question=ctx.item.question, solution=state.get("solution", ""), points=points
            )
        )
        ctx.parsed(plan_chars=len(plan))
        return {"scratch": {**state.get("scratch", {}), "plan": plan.strip()}}

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The official refinement prompt, with the plan attached."""
        prompt = official_refinement_prompt(ctx, state.get("solution", ""))
        plan = state.get("scratch", {}).get("plan")
        if plan:
            prompt += WITH_PLAN.format(plan=plan)
        return self.parse_answer(await ctx.ask(prompt), ctx)


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``plan_first``."""
    register("plan_first", PlanFirst)
