"""The tools one run offers: ``strategy.tools`` resolved against the registered tools.

Each tool's OpenAI schema is made once, with langchain-core's own converter
(``convert_to_openai_tool``), and sent as the ``tools`` call parameter; it is part of what the
call cache keys on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from mmrefine_agent.graph.strategy import Strategy
    from mmrefine_agent.plugins_manager import Plugins

TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What providers accept as a function name (OpenAI's rule)."""
CHOICES = ("auto", "none", "required")


class ToolBox:
    """The tools a strategy may offer in this run, by name, with their schemas."""

    def __init__(self, tools: Mapping[str, BaseTool]) -> None:
        self._tools = dict(tools)
        self._schemas: dict[str, dict[str, Any]] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The names offered, in the configured order."""
        return tuple(self._tools)

    def get(self, name: str) -> BaseTool | None:
        """The tool called ``name`` (None when it is not offered)."""
        return self._tools.get(name)

    def _offered(self, name: str) -> BaseTool:
        tool = self._tools.get(name)
        if tool is None:
            raise PluginError(
                f"tool {name!r} is not offered to this strategy (strategy.tools: "
                f"{', '.join(self._tools) or 'none'})"
            )
        return tool

    def schemas(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """The OpenAI tool schemas of ``names`` (each must be offered)."""
        out = []
        for name in names:
            tool = self._offered(name)
            schema = self._schemas.get(name)
            if schema is None:
                from langchain_core.utils.function_calling import convert_to_openai_tool

                schema = self._schemas[name] = convert_to_openai_tool(tool)
            out.append(schema)
        return out

    def choice(self, tool_choice: str | dict[str, Any]) -> str | dict[str, Any]:
        """A ``tool_choice`` as sent: ``auto``/``none``/``required``, or a tool name forced."""
        if isinstance(tool_choice, dict) or tool_choice in CHOICES:
            return tool_choice
        self._offered(tool_choice)
        return {"type": "function", "function": {"name": tool_choice}}


def check_tool(tool: object, plugin: str) -> BaseTool:
    """A registered tool, checked: a langchain-core tool with a name providers accept."""
    from langchain_core.tools import BaseTool

    if not isinstance(tool, BaseTool):
        raise PluginError(
            f"plugin {plugin}: register a langchain-core tool (@tool or a BaseTool), "
            f"not {type(tool).__name__}"
        )
    if not TOOL_NAME.fullmatch(tool.name):
        raise PluginError(
            f"plugin {plugin}: tool name {tool.name!r} must be 1-64 letters, digits, _ or -"
        )
    return tool


def toolbox_for(strategy: Strategy, plugins: Plugins) -> ToolBox | None:
    """The tools ``strategy`` offers in this run (None: none, and no tool code is loaded).

    Raises ConfigError naming ``strategy.tools`` and the unknown name, with a did-you-mean.
    """
    names = list(dict.fromkeys(strategy.tool_names))
    if not names:
        return None
    tools: dict[str, BaseTool] = {}
    for name in names:
        try:
            tools[name] = plugins.tools.get(name)
        except PluginError as exc:
            source = (
                "strategy.tools"
                if strategy.config.tools is not None
                else (f"the default tools of strategy '{strategy.name}'")
            )
            raise ConfigError(f"{source}: {exc}") from None
    return ToolBox(tools)
