"""What a tool may know about the call it serves: the item, the node, the round, the call id.

The framework sets it while a tool runs (a context variable: it follows the call into the
worker thread langchain-core runs a synchronous tool in). A tool reads it with
:func:`tool_context`, e.g. ``tool_context().item.image`` for a tool that looks at the image.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from mmrefine_agent.errors import PluginError
from mmrefine_agent.types import Item


@dataclass(frozen=True, slots=True)
class ToolContext:
    """The call a tool is running for."""

    item: Item
    """The item being refined (its question, image, solution)."""
    node: str
    """The graph node that ran the call."""
    round: int
    call_id: str
    """The id of the model's tool call."""


_CURRENT: ContextVar[ToolContext | None] = ContextVar("mmrefine_tool_context", default=None)


def tool_context() -> ToolContext:
    """The context of the tool call being run; outside one it is an error that says so."""
    context = _CURRENT.get()
    if context is None:
        raise PluginError(
            "tool_context() is only available while the framework runs a tool call "
            "(ctx.run_tool / ctx.run_tools in a strategy node)"
        )
    return context


def set_tool_context(context: ToolContext | None) -> Token[ToolContext | None]:
    """Set the context for the current task; returns the token :func:`reset_tool_context` takes."""
    return _CURRENT.set(context)


def reset_tool_context(token: Token[ToolContext | None]) -> None:
    """Restore the context that was current before :func:`set_tool_context`."""
    _CURRENT.reset(token)
