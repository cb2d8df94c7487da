"""Tool calls run as a traced step of their own (for a tool node of a strategy graph).

Inside a strategy node, :meth:`NodeContext.run_tools` records the runs on that node's step.
A graph node whose whole work is running the tool calls of the last model reply (LangGraph's
``ToolNode`` pattern) uses :func:`run_tool_step` instead: it runs the calls with the item's
context, returns their :class:`~mmrefine_agent.ToolResult` in call order, and emits one step
(named ``node``) holding the runs and any images they returned. :func:`tool_node` is the
behaviour of a strategy's tool node (``GraphShape.add_tool_node``): LangGraph's ``ToolNode``
over the run's registered tools and the framework's messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.node_context import NodeContext
from mmrefine_agent.records.steps import StepRecord
from mmrefine_agent.tools.box import ToolBox
from mmrefine_agent.tools.context import ToolContext
from mmrefine_agent.tools.results import ToolResult, tool_messages
from mmrefine_agent.tools.runner import run_tool_call
from mmrefine_agent.types import ToolCall


async def run_tool_step(
    context: GraphContext,
    calls: Sequence[ToolCall],
    *,
    node: str,
    round: int,
    strategy: str,
) -> list[ToolResult]:
    """Run ``calls`` against the run's tools as one traced step; results in call order.

    A tool's failure is a result (``error`` set), never an exception; the step is emitted
    even when it is cancelled half way.
    """
    step = StepRecord(item_key=context.item.key, round=round, node=node, strategy=strategy)
    tools = context.tools or ToolBox({})
    started = time.perf_counter()
    try:
        runs = await asyncio.gather(
            *(
                run_tool_call(call, tools, ToolContext(context.item, node, round, call.id))
                for call in calls
            )
        )
        for run in runs:
            step.tool_runs.append(run.record)
            step.image_files.update(run.image_files)
    finally:
        step.elapsed_s = round_seconds(time.perf_counter() - started)
        context.emit_step(step)
    return [run.result for run in runs]


def round_seconds(value: float) -> float:
    """Seconds as steps record them (4 decimals)."""
    return float(f"{value:.4f}")


def tool_node(messages: str) -> Callable[[Any, NodeContext], Awaitable[dict[str, Any]]]:
    """The behaviour of a tool node (``GraphShape.add_tool_node``) over ``state[messages]``.

    It runs the tool calls of the last message (an assistant :class:`ChatMessage` or a
    :class:`ModelResponse`) through the run's registered tools, records the runs on its
    step and appends the tool messages that answer them, by call id.
    """

    async def tools(state: Any, ctx: NodeContext) -> dict[str, Any]:
        history = state.get(messages) or []
        calls = tuple(getattr(history[-1], "tool_calls", ()) or ()) if history else ()
        if not calls:
            ctx.problem(f"no tool calls in the last message of {messages!r}")
            return {}
        results = await ctx.run_tools(calls)
        ctx.parsed(tools=[call.name for call in calls])
        return {messages: tool_messages(results)}

    tools.__name__ = "tool_node"
    return tools
