"""A tiny tool-using strategy for the tests: ``detect`` runs a tool loop with ``ctx.chat``.

The model is offered the run's tools (``strategy.tools``, default ``calculator``); every
reply with tool calls has them run (``ctx.run_tools``) and sent back, until a reply without
tool calls (or ``max_turns``), which is parsed as an official-format answer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import NodeContext, RefineState, hookimpl, tool_messages
from mmrefine_strategies.single_pass import SinglePass, official_refinement_prompt


class ToolLoop(SinglePass):
    name: ClassVar[str] = "tool_loop"
    description: ClassVar[str] = "test: the official prompt with a tool loop in detect"
    options_doc: ClassVar[dict[str, str] | None] = {"max_turns": "tool rounds (default 4)"}
    default_tools: ClassVar[tuple[str, ...]] = ("calculator",)

    async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        messages = [ctx.user(official_refinement_prompt(ctx, state.get("solution", "")))]
        reply = await ctx.chat(messages, tools=ctx.tools)
        for _ in range(int(self.options.get("max_turns", 4))):
            if not reply.tool_calls:
                break
            results = await ctx.run_tools(reply.tool_calls)
            messages += [reply.as_message(), *tool_messages(results)]
            reply = await ctx.chat(messages, tools=ctx.tools)
        ctx.parsed(tool_turns=sum(1 for m in messages if m.role == "assistant"))
        return self.parse_answer(reply.text, ctx)


@hookimpl
def mmrefine_register_strategies(register: Any) -> None:
    register("tool_loop", ToolLoop)
