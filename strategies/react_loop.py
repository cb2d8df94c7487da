"""A bounded loop of the model and its tools, shared by the tool-using strategies.

:func:`tool_loop` sends a conversation offering tools, runs the calls of every reply that
makes some (``ctx.run_tools``), sends the results back by call id, and stops at the first
reply without tool calls. A :class:`ToolBudget` (the strategy option ``max_tool_calls``)
bounds the calls run in a round, across every node and loop of that round: a reply asking
for more calls than are left has the rest answered with "not run" results, and once the
budget is spent the model is told so and asked for its answer with ``tool_choice: none``.
Reaching the bound is written as a note on the step (``tool-call bound reached: ...``) and
as ``tool_bound_hit`` in its parsed fields, so ``trace`` and the report show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mmrefine_agent import (
    ChatMessage,
    ConfigError,
    ModelResponse,
    NodeContext,
    ToolCall,
    ToolResult,
    tool_messages,
)

BUDGET_SPENT = (
    "You have used all {limit} tool calls allowed for this review. Do not call any more "
    "tools: write your complete answer now, in the format asked for at the start."
)
NOT_RUN = "not run: the tool-call budget of this round (max_tool_calls={limit}) is used up"
DEFAULT_MAX_TOOL_CALLS = 6
MAX_TOOL_CALLS_LIMIT = 100


def max_tool_calls_option(options: dict[str, Any], default: int = DEFAULT_MAX_TOOL_CALLS) -> int:
    """The ``max_tool_calls`` option: a whole number in 0..100 (0: no tools are offered)."""
    value = options.get("max_tool_calls", default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"strategy.options.max_tool_calls: expected a whole number in "
            f"0..{MAX_TOOL_CALLS_LIMIT}, got {value!r}"
        )
    if not 0 <= value <= MAX_TOOL_CALLS_LIMIT:
        raise ConfigError(
            f"strategy.options.max_tool_calls: expected a whole number in "
            f"0..{MAX_TOOL_CALLS_LIMIT}, got {value!r}"
        )
    return value


@dataclass(slots=True)
class ToolBudget:
    """The tool calls a round may still run: ``limit`` in all, ``used`` so far."""

    limit: int
    used: int = 0

    @property
    def left(self) -> int:
        """How many calls may still run."""
        return max(0, self.limit - self.used)

    def take(self, wanted: int) -> int:
        """Grant up to ``wanted`` calls (fewer when the budget is short); count them as used."""
        granted = min(wanted, self.left)
        self.used += granted
        return granted


@dataclass(slots=True)
class LoopOutcome:
    """How a tool loop ended: the last reply, the conversation, the results, the bound."""

    reply: ModelResponse
    messages: list[ChatMessage]
    calls: list[ToolCall] = field(default_factory=list)
    """Every tool call the model made while the loop offered tools, in order."""
    results: list[ToolResult] = field(default_factory=list)
    """Each call's result (same order; calls not run included, with ``error`` set)."""
    bound_hit: bool = False
    """True when the budget stopped the loop (the model was asked to answer without tools)."""

    @property
    def text(self) -> str:
        """The text of the last reply."""
        return self.reply.text


def usable_tools(ctx: NodeContext, wanted: Sequence[str] | None = None) -> tuple[str, ...]:
    """The tools a node offers: ``wanted`` (default: all the run allows).

    ``zoom`` is left out when the item has no image (there is nothing to zoom into).
    """
    names = ctx.tools if wanted is None else tuple(n for n in wanted if n in ctx.tools)
    if ctx.item.image is None:
        names = tuple(n for n in names if n != "zoom")
    return names


async def tool_loop(
    ctx: NodeContext,
    messages: Sequence[ChatMessage],
    *,
    tools: Sequence[str],
    budget: ToolBudget,
    label: str = "",
) -> LoopOutcome:
    """Talk with the model, running its tool calls, until a reply makes none.

    ``tools`` are offered on every turn while the budget lasts (none: one plain call).
    ``label`` names the loop in the bound note (e.g. ``"check 2"``). Never raises for a
    tool's failure: that is a result the model reads.
    """
    conversation = list(messages)
    offered = list(tools) if budget.limit > 0 else []
    reply = await ctx.chat(conversation, tools=offered or None)
    outcome = LoopOutcome(reply, conversation)
    if reply.tool_calls and not offered:
        names = ", ".join(sorted({c.name for c in reply.tool_calls}))
        ctx.step.notes.append(f"the model asked for {names} though no tool was offered: not run")
    while offered and reply.tool_calls:
        granted = budget.take(len(reply.tool_calls))
        calls = list(reply.tool_calls)
        results = await ctx.run_tools(calls[:granted]) if granted else []
        skipped = calls[granted:]
        results += [
            ToolResult(c.id, c.name, NOT_RUN.format(limit=budget.limit), error=True)
            for c in skipped
        ]
        outcome.calls += calls
        outcome.results += results
        conversation += [reply.as_message(), *tool_messages(results)]
        if budget.left > 0:
            reply = await ctx.chat(conversation, tools=offered)
            continue
        outcome.bound_hit = True
        note_bound(ctx, budget, len(skipped), label)
        conversation.append(ChatMessage("user", BUDGET_SPENT.format(limit=budget.limit)))
        reply = await ctx.chat(conversation, tools=offered, tool_choice="none")
        if reply.tool_calls:
            names = ", ".join(sorted({c.name for c in reply.tool_calls}))
            ctx.step.notes.append(
                f"after the tool-call bound the model still asked for {names}: not run"
            )
        break
    outcome.reply = reply
    outcome.messages = conversation
    return outcome


def note_bound(ctx: NodeContext, budget: ToolBudget, skipped: int, label: str) -> None:
    """The trace note (and parsed flag) saying the tool-call bound stopped a loop."""
    where = f" in {label}" if label else ""
    extra = f"; {skipped} further call(s) not run" if skipped else ""
    ctx.step.notes.append(
        f"tool-call bound reached{where}: max_tool_calls={budget.limit} calls run{extra}; "
        "the model was asked to answer without tools"
    )
    ctx.parsed(tool_bound_hit=True)


def tool_evidence(outcome: LoopOutcome, limit: int = 1500) -> str:
    """What the tools were asked and returned, one entry per call ("" when none ran)."""
    lines = []
    for call, result in zip(outcome.calls, outcome.results, strict=True):
        text = result.text if len(result.text) <= limit else result.text[:limit] + " [...]"
        status = "failed" if result.error else "returned"
        lines.append(f"- {call.name}({call.arguments_json}) {status}: {text.strip()}")
    return "\n".join(lines)
