"""``self_critique``: refine with the official prompt, critique the refinement, revise once.

Round 1: ``detect`` asks the official refinement prompt; ``locate``/``correct``/``verify``
parse it; a ``critique`` node of its own (added in :meth:`SelfCritique.shape`, so per-node
reports show it) asks the model to critique its own refinement. If the critique asks for a
revision and a round is left, round 2 re-asks the official prompt with the earlier review and
the critique attached; the last round has no critique (one revision with ``max_rounds: 2``).
The judged response is the latest official-format answer, so it stays comparable with the
paper protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from mmrefine_agent import (
    END_ROUND,
    GraphShape,
    NodeContext,
    RefineState,
    RegisterStrategy,
    hookimpl,
    parse_labelled,
)

from .single_pass import SinglePass, official_refinement_prompt, parsed_of

CRITIQUE_PROMPT = """You are a strict reviewer of mathematical reviews.

Below are a question, a proposed solution, and a review of that solution written earlier.
Check the review itself: Is its verdict (Correct/Incorrect) right? If it names an error, is
that really the first error? Is its corrected solution and final answer right?

Question: {question}

Proposed solution: {solution}

Review: {review}

Explain briefly, then end with exactly one line:
Critique Verdict: ACCEPT   (the review is right)
or
Critique Verdict: REVISE   (the review must be redone)"""

REVISION_SUFFIX = """

A first review of this solution was written:
{review}

A critique of that review says:
{critique}

Taking the critique into account, write your final review in the required format."""

_ACCEPT = re.compile(r"\b(accept|accepted|approve|ok)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RevisionCarry:
    """What a round hands to the revision: its review and the critique of it."""

    review: str
    critique: str


class SelfCritique(SinglePass):
    """Official prompt, self-critique in a node of its own, one revision.

    Reads no options. The critique hands the review and itself on as a
    :class:`RevisionCarry`.
    """

    name: ClassVar[str] = "self_critique"
    description: ClassVar[str] = "refine, critique the refinement, revise once"
    options_doc: ClassVar[dict[str, str] | None] = {}
    carry_type: ClassVar[type[Any] | None] = RevisionCarry

    def shape(self, graph: GraphShape) -> None:
        """A ``critique`` node after ``verify`` while a revision is still possible."""
        graph.add_node("critique", self.critique)
        graph.add_route("verify", self.route_to_critique, ["critique", END_ROUND])
        graph.add_edge("critique", END_ROUND)

    def route_to_critique(self, state: RefineState) -> str:
        """Critique while a revision round is left; the last round ends without one."""
        return "critique" if state.get("round", 1) < self.max_rounds else END_ROUND

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Round 1: the official prompt; later rounds: the same with review and critique."""
        prompt = official_refinement_prompt(ctx, state.get("solution", ""))
        revision = state.get("carry")
        if isinstance(revision, RevisionCarry):
            prompt += REVISION_SUFFIX.format(review=revision.review, critique=revision.critique)
        answer = await ctx.ask(prompt)
        return self.parse_answer(answer, ctx)

    async def critique(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """Ask the model to critique the round's review; not accepted -> another round."""
        review = state.get("scratch", {}).get("answer", "")
        critique = await ctx.ask(
            CRITIQUE_PROMPT.format(
                question=ctx.item.question, solution=state.get("solution", ""), review=review
            )
        )
        label = parse_labelled(critique, "Critique Verdict")
        if label is None:
            ctx.problem("no 'Critique Verdict:' line; treated as REVISE")
        accepted = bool(label and _ACCEPT.search(label))
        ctx.parsed(critique_verdict=label, accepted=accepted)
        return {"verified": accepted, "carry_next": RevisionCarry(review=review, critique=critique)}

    def next_round_solution(self, state: RefineState) -> str:
        """A revision reviews the same (initial) solution again."""
        return state.get("solution", "")

    def route_after_verify(self, state: RefineState) -> str:
        """Revise when the critique did not accept (the framework stops at max_rounds)."""
        return "end" if state.get("verified") is True else "detect"


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``self_critique``."""
    register("self_critique", SelfCritique)


__all__ = ["SelfCritique", "parsed_of"]
