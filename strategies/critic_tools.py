"""``critic_tools``: CRITIC as published, the critique verifying with tools.

After Gou et al. 2024, *CRITIC: Large Language Models Can Self-Correct with Tool-Interactive
Critiquing* (ICLR 2024, arXiv:2305.11738). Where ``critic`` is the paper's no-tool variant,
this is the method itself for mathematical reasoning: the critique *verifies* the proposed
answer with external tools (the paper runs the solution's computation in a Python
interpreter and reads the execution result), and the correction is conditioned on that
tool-grounded critique; the loop stops when a correction keeps the answer it corrected, or
after ``max_rounds``.

Default tools (``strategy.tools`` replaces them): ``python`` (runs code in a sandboxed
process) and ``calculator`` (exact arithmetic and algebra). Options: ``max_tool_calls``
(default 6, 0..100: the most tool calls the critique runs per round; past it the model is
asked to finish its critique without tools, and the step notes the bound) and
``stop_when_unchanged`` (as in ``critic``).

Nodes:

- ``detect``: the critique, a loop of the model and its tools; it ends in the review lines
  (verdict, first wrong step, ``Final Answer:``) and names the answer it checked
  (``Proposed Answer:``);
- ``locate``: reads the critique's first wrong step (no call);
- ``correct``: the revision, given the critique *and* what the tools returned;
- ``verify``: no call; confirmed when the critique found nothing, or when the revision kept
  the answer it revised.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    ChatMessage,
    NodeContext,
    RefineState,
    RegisterStrategy,
    StrategyConfig,
    hookimpl,
    parse_labelled,
)

from .common import REVIEW_LINES, SYSTEM, review
from .critic import Critic
from .react_loop import ToolBudget, max_tool_calls_option, tool_evidence, tool_loop, usable_tools

VERIFY_PROMPT = """Question: {question}

Proposed solution:
{solution}

Verify this solution with the tools before you judge it. First write the answer it arrives
at as:
Proposed Answer: <its final answer>
Then check it. Recompute every calculation the solution relies on with a tool ({tools}):
write the computation as code or as an expression, run it, and compare the result with what
the solution wrote. Check also that the answer is plausible for the question (units, range,
sign, the options offered, what the figure shows) and that each step follows from the ones
before. You may make at most {budget} tool calls. Once the checks are done, stop calling
tools and write your critique: what the tools confirmed, what they contradicted, and which
step is the first that is wrong, if any.
{review_lines}"""

NO_TOOLS_PROMPT = """Question: {question}

Proposed solution:
{solution}

Verify this solution before you judge it. First write the answer it arrives at as:
Proposed Answer: <its final answer>
Then recompute every calculation it relies on, check that the answer is plausible for the
question (units, range, sign, the options offered, what the figure shows) and that each step
follows from the ones before. Say what the problems are, if any.
{review_lines}"""

WITH_EVIDENCE = """{critique}

What the tools returned while checking:
{evidence}"""


class CriticTools(Critic):
    """Tool-verified critique, then a revision on that critique, until the answer settles."""

    name: ClassVar[str] = "critic_tools"
    description: ClassVar[str] = (
        "CRITIC with tools (Gou et al. 2024): tool-verified critique, revise"
    )
    options_doc: ClassVar[dict[str, str] | None] = {
        "max_tool_calls": "the most tool calls the critique runs per round (default 6; 0: none)",
        "stop_when_unchanged": "stop once a revision keeps the answer it revised (default true)",
    }
    default_tools: ClassVar[tuple[str, ...]] = ("python", "calculator")

    def __init__(self, config: StrategyConfig) -> None:
        super().__init__(config)
        self.max_tool_calls = max_tool_calls_option(self.options)

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        """The critique: the model checks the solution's computations with its tools."""
        tools = usable_tools(ctx) if self.max_tool_calls else ()
        values = {
            "question": ctx.item.question,
            "solution": state.get("solution", ""),
            "review_lines": REVIEW_LINES,
        }
        if tools:
            prompt = VERIFY_PROMPT.format(
                **values, tools=", ".join(tools), budget=self.max_tool_calls
            )
        else:
            prompt = NO_TOOLS_PROMPT.format(**values)
        budget = ToolBudget(self.max_tool_calls)
        outcome = await tool_loop(
            ctx, [ChatMessage("system", SYSTEM), ctx.user(prompt)], tools=tools, budget=budget
        )
        critique = outcome.text
        proposed = parse_labelled(critique, "Proposed Answer")
        update = review(ctx, critique)
        evidence = tool_evidence(outcome)
        ctx.parsed(proposed_answer=proposed, tools_offered=list(tools), tool_calls_run=budget.used)
        full = WITH_EVIDENCE.format(critique=critique, evidence=evidence) if evidence else critique
        return {**update, "scratch": {"critique": full, "proposed": proposed}}


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``critic_tools``."""
    register("critic_tools", CriticTools)
