"""What a strategy node receives: the item, the model, the official prompts, its step record.

A node talks to the model with :meth:`NodeContext.ask` (one user message, the text back) or
:meth:`NodeContext.chat` (a conversation, optionally offering tools; the whole response back:
text and tool calls), and runs the calls the model made with :meth:`NodeContext.run_tools`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import PluginError
from mmrefine_agent.types import CallTags, ChatMessage, Item, Label, ModelResponse, ToolCall

if TYPE_CHECKING:
    from mmrefine_agent.data.prompts import OfficialPrompts
    from mmrefine_agent.model.caller import ModelCaller
    from mmrefine_agent.records.steps import StepRecord
    from mmrefine_agent.tools.box import ToolBox
    from mmrefine_agent.tools.results import ToolResult


@dataclass(frozen=True, slots=True)
class Gold:
    """What the dataset knows about an item's answer: only for strategies with ``uses_gold``."""

    answer: str
    """The gold final answer ("" when the dataset has none)."""
    label: Label
    """Whether the initial solution is correct."""
    first_wrong_step: int | None
    """The labelled first wrong step (1-based), when known."""
    reference_feedback: str | None


@dataclass(slots=True)
class NodeContext:
    """What a node may use: the item, the model, the official prompts, and its step record."""

    item: Item
    node: str
    round: int
    client: ModelCaller
    prompts: OfficialPrompts | None
    step: StepRecord
    options: dict[str, Any] = field(default_factory=dict)
    uses_gold: bool = False
    """Whether the strategy declared ``uses_gold`` (then :meth:`gold` answers)."""
    toolbox: ToolBox | None = None
    """The tools this run lets the strategy offer (``strategy.tools``; None: none)."""

    @property
    def tools(self) -> tuple[str, ...]:
        """The names of the tools the strategy may offer (``strategy.tools`` or its default)."""
        return self.toolbox.names if self.toolbox is not None else ()

    def gold(self) -> Gold:
        """The item's gold answer and label, for a strategy that declares ``uses_gold = True``.

        A strategy that has not declared it fails here (the declaration is what marks its runs
        as not paper-comparable), so the gold answer is never used by accident.
        """
        if not self.uses_gold:
            raise PluginError(
                f"{self.node}: ctx.gold() is only for strategies that declare uses_gold = True "
                "(their runs are marked as using the gold answer or label)"
            )
        item = self.item
        return Gold(item.answer, item.label, item.first_wrong_step, item.reference_feedback)

    async def ask(
        self,
        text: str,
        *,
        system: str | None = None,
        with_image: bool = True,
        params: dict[str, Any] | None = None,
        history: tuple[ChatMessage, ...] = (),
        sample: str = "",
    ) -> str:
        """Send one user message (with the item's image unless told not to) and return the text.

        The call, its prompt summary, raw answer and usage are added to this step's record.
        ``sample`` names one of several samples of the same prompt (e.g. ``"agent 2"``): the
        call cache keeps each sample apart (without it, equal prompts share one cached answer);
        what is sent does not change.
        """
        images = (self.item.image,) if (with_image and self.item.image is not None) else ()
        messages: list[ChatMessage] = []
        if system:
            messages.append(ChatMessage("system", system))
        messages.extend(history)
        messages.append(ChatMessage("user", text, images))
        tags = CallTags(item_key=self.item.key, node=self.node, round=self.round)
        response, record = await self.client.call(
            tuple(messages), tags, params, cache_salt=f"sample:{sample}" if sample else ""
        )
        self.step.calls.append(record)
        self.step.notes.extend(n for n in response.notes if n not in self.step.notes)
        if response.tool_calls and not response.text:
            names = ", ".join(call.name for call in response.tool_calls)
            raise PluginError(
                f"{self.node}: the model answered with tool calls only ({names}); ctx.ask "
                "returns text: use ctx.chat(messages, tools=[...]) to read and run tool calls"
            )
        return response.text

    def user(self, text: str, *, with_image: bool = True) -> ChatMessage:
        """A user message with ``text`` and, unless told not to, the item's image."""
        images = (self.item.image,) if (with_image and self.item.image is not None) else ()
        return ChatMessage("user", text, images)

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[str] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        sample: str = "",
    ) -> ModelResponse:
        """Send a conversation and return the whole response: ``.text`` and ``.tool_calls``.

        ``tools`` names the tools to offer (each one of :attr:`tools`, i.e. allowed by
        ``strategy.tools``); their schemas go in the call's ``tools`` parameter, and
        ``tool_choice`` may be ``auto``, ``none``, ``required`` or a tool's name (that tool
        is forced). A tool loop sends the reply back with ``response.as_message()`` and the
        results of :meth:`run_tools` as ``tool_messages(results)``. The call is recorded on
        this step like :meth:`ask`'s (with the parameters sent and the tool calls returned).
        """
        merged = dict(params or {})
        if tools:
            if self.toolbox is None:
                raise PluginError(
                    f"{self.node}: no tools are offered in this run (set strategy.tools)"
                )
            merged["tools"] = self.toolbox.schemas(list(tools))
            if tool_choice is not None:
                merged["tool_choice"] = self.toolbox.choice(tool_choice)
        elif tool_choice is not None:
            raise PluginError(f"{self.node}: tool_choice without tools")
        tags = CallTags(item_key=self.item.key, node=self.node, round=self.round)
        response, record = await self.client.call(
            tuple(messages), tags, merged or None, cache_salt=f"sample:{sample}" if sample else ""
        )
        self.step.calls.append(record)
        self.step.notes.extend(n for n in response.notes if n not in self.step.notes)
        return response

    async def run_tool(self, call: ToolCall) -> ToolResult:
        """Run one tool call the model made; its run is recorded on this step.

        Never raises for the tool's own failure (it becomes a result with ``error`` set that
        the model reads); the tool sees the item through ``tool_context()``.
        """
        from mmrefine_agent.tools.box import ToolBox
        from mmrefine_agent.tools.context import ToolContext
        from mmrefine_agent.tools.runner import run_tool_call

        context = ToolContext(self.item, self.node, self.round, call.id)
        run = await run_tool_call(call, self.toolbox or ToolBox({}), context)
        self.step.tool_runs.append(run.record)
        self.step.image_files.update(run.image_files)
        return run.result

    async def run_tools(self, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """Run several tool calls at once; the results come back in the order of the calls."""
        import asyncio

        return list(await asyncio.gather(*(self.run_tool(call) for call in calls)))

    def parsed(self, **values: Any) -> None:
        """Record parsed fields on this step."""
        self.step.parsed.update(values)

    def problem(self, message: str) -> None:
        """Record a parse problem on this step (it is also appended to the state)."""
        self.step.parse_errors.append(message)
