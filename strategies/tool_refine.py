"""``tool_refine``: the paper protocol with a ReAct loop of the model and its tools.

After Yao et al. 2023, *ReAct: Synergizing Reasoning and Acting in Language Models*
(ICLR 2023, arXiv:2210.03629): the model interleaves reasoning with actions (here tool calls
through the provider's function-calling interface) and reads each observation (the tool's
result, or the enlarged region for ``zoom``) before it goes on. The task is MMRefine's own:
the official refinement prompt, so the answer keeps the official format (review, first wrong
step, corrected solution, ``Correctness:``, ``Final Answer:``) and the official judge scores
it like ``single_pass``'s.

Default tools (``strategy.tools`` replaces them): ``calculator`` (exact arithmetic and
algebra) and ``zoom`` (a region of the image, enlarged; not offered on text-only items).
Option ``max_tool_calls`` (default 6, 0..100) bounds the tool calls run in a round: past it
the model is told the budget is spent and asked for its answer without tools, and the step
carries the note ``tool-call bound reached: ...``.

Nodes: ``detect`` runs the loop and parses the final answer; ``locate``, ``correct`` and
``verify`` read that answer (no call), as in ``single_pass``. One round by default.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    NodeContext,
    RefineState,
    RegisterStrategy,
    SinglePass,
    StrategyConfig,
    hookimpl,
    official_refinement_prompt,
)

from .react_loop import ToolBudget, max_tool_calls_option, tool_loop, usable_tools

REACT_GUIDE = """

While you review, you may act with tools: {tools}. Alternate between reasoning and acting:
when a step depends on a computation or on a detail of the figure you are not sure of, call a
tool to check it, read what it returns, and continue from there. You may make at most
{budget} tool calls. When you have checked what you need, stop calling tools and write your
complete answer in the format above."""


class ToolRefine(SinglePass):
    """The official refinement prompt answered through a bounded model<->tools loop."""

    name: ClassVar[str] = "tool_refine"
    description: ClassVar[str] = (
        "ReAct (Yao et al. 2023): the official prompt through a model<->tools loop"
    )
    options_doc: ClassVar[dict[str, str] | None] = {
        "max_tool_calls": "the most tool calls run in a round (default 6; 0: no tools)"
    }
    default_tools: ClassVar[tuple[str, ...]] = ("calculator", "zoom")

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.max_tool_calls = max_tool_calls_option(self.options)

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The official prompt, the tool loop, then the final answer parsed."""
        prompt = official_refinement_prompt(ctx, state.get("solution", ""))
        tools = usable_tools(ctx) if self.max_tool_calls else ()
        if tools:
            prompt += REACT_GUIDE.format(tools=", ".join(tools), budget=self.max_tool_calls)
        budget = ToolBudget(self.max_tool_calls)
        outcome = await tool_loop(ctx, [ctx.user(prompt)], tools=tools, budget=budget)
        ctx.parsed(tools_offered=list(tools), tool_calls_run=budget.used)
        return self.parse_answer(outcome.text, ctx)


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``tool_refine``."""
    register("tool_refine", ToolRefine)
