"""``parallel_review``: two reviewers in parallel branches, a merge node, then the paper protocol.

    mmrefine run configs/quickstart.yaml --plugin examples/parallel_review.py
        --set strategy.name=parallel_review   (one command line)

``begin_round`` has two edges out, so both reviewers run at once (each a traced step); the
join edge makes ``merge`` wait for both; their reviews meet in a typed state field whose
reducer appends. ``merge`` keeps the review that finds the earliest error, which ``detect``,
``locate``, ``correct`` and ``verify`` then parse as in the single pass.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, ClassVar

from mmrefine_agent import (
    BEGIN_ROUND,
    GraphShape,
    NodeContext,
    RefineState,
    RegisterStrategy,
    SinglePass,
    hookimpl,
    official_refinement_prompt,
    parse_refinement,
)

FOCUS = {
    "figure_reviewer": "Check first every fact the solution takes from the figure or question.",
    "steps_reviewer": "Check first every calculation and every logical step.",
}


class ReviewState(RefineState, total=False):
    """The strategy's own state fields."""

    reviews: Annotated[list[tuple[str, str]], operator.add]
    """(reviewer, review): each branch appends its own; every round starts it empty."""
    merged: str
    """The review ``merge`` kept."""


class ParallelReview(SinglePass):
    """Two focused reviews at once; the one naming the earliest error is parsed."""

    name: ClassVar[str] = "parallel_review"
    description: ClassVar[str] = "example: two reviewers in parallel, merged before detect"
    options_doc: ClassVar[dict[str, str] | None] = {}
    state_type: ClassVar[type[Any]] = ReviewState

    def shape(self, graph: GraphShape) -> None:
        """begin_round -> both reviewers (parallel) -> merge (waits for both) -> detect."""
        graph.remove_edge(BEGIN_ROUND, "detect")
        for reviewer in FOCUS:
            graph.add_node(reviewer, self.review)
            graph.add_edge(BEGIN_ROUND, reviewer)
        graph.add_node("merge", self.merge)
        graph.add_edge(list(FOCUS), "merge")
        graph.add_edge("merge", "detect")

    async def review(self, state: ReviewState, ctx: NodeContext) -> dict[str, Any]:
        """One reviewer: the official refinement prompt with its focus first."""
        prompt = FOCUS[ctx.node] + "\n\n" + official_refinement_prompt(ctx, state["solution"])
        return {"reviews": [(ctx.node, await ctx.ask(prompt))]}

    async def merge(self, state: ReviewState, ctx: NodeContext) -> dict[str, Any]:
        """Keep the review that finds the earliest error (else the first, by reviewer name)."""
        parsed = {name: parse_refinement(text) for name, text in state["reviews"]}
        ranks = {n: (p.verdict != "incorrect", p.error_step or 10**6) for n, p in parsed.items()}
        chosen = min(sorted(parsed), key=ranks.__getitem__)
        ctx.parsed(chosen=chosen)
        return {"merged": dict(state["reviews"])[chosen]}

    async def detect(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        """Parse the merged review (no call)."""
        return self.parse_answer(state.get("merged") or "", ctx)


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``parallel_review``."""
    register("parallel_review", ParallelReview)
