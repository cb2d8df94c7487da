"""``lookback``: every claim the solution makes about the image is checked against the image.

After Wu et al. 2025, *VISCO: Benchmarking Fine-Grained Critique and Correction Towards
Self-Improvement in Visual Reasoning* (CVPR 2025, arXiv:2412.02172), its **LookBack**
strategy. VISCO finds that critics fail most at visual perception: they take what the
reasoning says about the image on trust. LookBack revisits the image to verify each piece of
visual information the reasoning uses *before* judging its steps, and corrects with that
critique. Here:

- ``list_claims`` (one call): the claims the solution makes about the image, each with the
  step that uses it and a question that checks it without giving the answer away (at most
  ``max_claims``);
- ``look_back`` (one call per claim, concurrently): each question answered from the image
  alone, without the solution (so the solution's reading cannot sway it); the model may
  ``zoom`` into the region it needs (tool calls of the round bounded by ``max_tool_calls``);
- ``detect``: the step-by-step critique, given each claim next to what the image showed;
  its verdict, first wrong step and answer (the review lines);
- ``locate``: reads that step (no call); ``correct``: the rewrite, given the critique and
  what the image showed; ``verify``: no call, confirmed when the critique found nothing.

A text-only item has nothing to look back at: ``list_claims`` and ``look_back`` make no call
(their steps say so) and ``detect`` reviews as usual. One round by default; with more, the
next round looks back at the rewrite's claims.

Default tools (``strategy.tools`` replaces them): ``zoom``.
"""

from __future__ import annotations

import asyncio
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

from .common import REVIEW_LINES, SOLUTION_LINES, SYSTEM, int_option, named_step, review, rewritten
from .lookback_claims import Claim, claims_block, parse_claims
from .react_loop import ToolBudget, max_tool_calls_option, tool_loop, usable_tools

LIST_PROMPT = """Question: {question}

Proposed solution:
{solution}

Do not judge the solution yet. List what it states or assumes about the image: every value
read from the figure, every label, length, angle, count, position or relation between
elements that a step takes from the picture (at most {limit}, the ones the answer depends on
first). For each, write a question about the image that would settle it without stating the
value, in exactly this form:
Claim 1 (step N): <what the solution says the image shows>
Check 1: <a question about the image>
If the solution takes nothing from the image, write: No claims about the image."""

CHECK_PROMPT = """The problem this image belongs to (for context only): {question}

Question about the image: {check}

Look closely at the image and answer from what it shows, not from what a solution might
expect. If the image does not show it clearly, say so.{zoom}
End with one line:
Observation: <your answer in a few words>"""

ZOOM_HINT = """ You may call the zoom tool (at most {budget} calls in all) to enlarge the
region the question is about."""

CRITIQUE_PROMPT = """Question: {question}

Proposed solution:
{solution}

Before this review, each claim the solution makes about the image was checked by looking
back at the image (each question answered from the image alone, without the solution):
{claims}

Now review the solution step by step. A step that uses a claim the image contradicts is
wrong, even when its arithmetic is right; check the calculations and the logic of every
step too.
{review_lines}"""

PLAIN_CRITIQUE_PROMPT = """Question: {question}

Proposed solution:
{solution}

Review the solution step by step: check the facts it uses, the calculations and the logic of
every step.
{review_lines}"""

REWRITE_PROMPT = """Question: {question}

Proposed solution:
{solution}

A step-by-step critique of it:
{critique}
{claims}
Write a corrected solution: keep the steps before step {step} that the critique accepts, use
what the image actually shows, and fix the reasoning from step {step} on.
{solution_lines}"""


class LookBack(Strategy):
    """List the solution's visual claims, check each against the image, critique, correct."""

    name: ClassVar[str] = "lookback"
    description: ClassVar[str] = (
        "VISCO LookBack (Wu et al. 2025): each visual claim checked against the image, "
        "then critique, correct"
    )
    default_max_rounds: ClassVar[int] = 1
    options_doc: ClassVar[dict[str, str] | None] = {
        "max_claims": "the most claims about the image checked per round (default 6)",
        "max_tool_calls": "the most tool calls the checks run per round (default 6; 0: none)",
    }
    default_tools: ClassVar[tuple[str, ...]] = ("zoom",)

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.max_claims = int_option(self.options, "max_claims", 6, 1, 30)
        self.max_tool_calls = max_tool_calls_option(self.options)

    def shape(self, graph: GraphShape) -> None:
        """``begin_round -> list_claims -> look_back -> detect``; the rest as standard."""
        graph.insert_before("detect", "list_claims", self.list_claims)
        graph.insert_before("detect", "look_back", self.look_back)

    async def list_claims(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """One call: the solution's claims about the image, each with its check question."""
        if ctx.item.image is None:
            ctx.step.notes.append("the item has no image: no claims to look back at")
            ctx.parsed(claims=0)
            return {"scratch": {"claims": []}}
        listing = await ctx.ask(
            LIST_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                limit=self.max_claims,
            ),
            system=SYSTEM,
        )
        claims = parse_claims(listing, self.max_claims)
        if not claims and "no claims" not in listing.lower():
            ctx.problem("no 'Claim N (step M): ...' lines in the listing")
        ctx.parsed(claims=len(claims), claimed_steps=[c.step for c in claims])
        return {"scratch": {"claims": claims}}

    async def look_back(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """One call per claim, all at once: its question answered from the image alone."""
        claims: list[Claim] = list(state.get("scratch", {}).get("claims") or [])
        if not claims:
            ctx.parsed(checked=0)
            return {}
        tools = usable_tools(ctx) if self.max_tool_calls else ()
        budget = ToolBudget(self.max_tool_calls)
        zoom = ZOOM_HINT.format(budget=self.max_tool_calls) if "zoom" in tools else ""

        async def check(claim: Claim) -> Claim:
            prompt = CHECK_PROMPT.format(question=ctx.item.question, check=claim.check, zoom=zoom)
            outcome = await tool_loop(
                ctx, [ctx.user(prompt)], tools=tools, budget=budget, label=f"check {claim.number}"
            )
            observation = _observation(outcome.text)
            return Claim(claim.number, claim.step, claim.text, claim.check, observation)

        checked = list(await asyncio.gather(*(check(c) for c in claims)))
        ctx.parsed(
            checked=len(checked),
            observations={str(c.number): c.observation for c in checked},
            tool_calls_run=budget.used,
        )
        return {"scratch": {**state.get("scratch", {}), "claims": checked}}

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The critique, with each claim set beside what the image showed."""
        claims: list[Claim] = list(state.get("scratch", {}).get("claims") or [])
        values = {
            "question": ctx.item.question,
            "solution": state.get("solution", ""),
            "review_lines": REVIEW_LINES,
        }
        if claims:
            prompt = CRITIQUE_PROMPT.format(**values, claims=claims_block(claims))
        else:
            prompt = PLAIN_CRITIQUE_PROMPT.format(**values)
        critique = await ctx.ask(prompt, system=SYSTEM)
        update = review(ctx, critique)
        return {**update, "scratch": {**state.get("scratch", {}), "critique": critique}}

    async def locate(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The first wrong step the critique names (no call)."""
        return named_step(state, ctx, "critique")

    async def correct(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The rewrite, given the critique and what looking back at the image found."""
        scratch = state.get("scratch", {})
        claims: list[Claim] = list(scratch.get("claims") or [])
        seen = f"\nWhat the image showed when the claims were checked:\n{claims_block(claims)}\n"
        step = state.get("error_step")
        rewrite = await ctx.ask(
            REWRITE_PROMPT.format(
                question=ctx.item.question,
                solution=state.get("solution", ""),
                critique=scratch.get("critique", ""),
                claims=seen if claims else "",
                step=step if step is not None else 1,
                solution_lines=SOLUTION_LINES,
            ),
            system=SYSTEM,
        )
        return rewritten(ctx, rewrite, "corrected", "corrected_chars")

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """No call: confirmed when the critique found nothing wrong."""
        verified = state.get("verdict") == "correct"
        ctx.parsed(verified=verified)
        return {"verified": verified}

    def route_after_verify(self, state: RefineState) -> str:
        """Another round (looking back at the rewrite) unless confirmed or nothing rewritten."""
        if state.get("verified") is True or not state.get("corrected_solution"):
            return "end"
        return "detect"


def _observation(answer: str) -> str:
    """The ``Observation:`` line of a check's answer, else its last non-empty line."""
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.lower().startswith("observation:"):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else ""


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``lookback``."""
    register("lookback", LookBack)
