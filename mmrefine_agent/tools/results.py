"""A tool call's outcome as the model sees it, and as messages for the next request."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from mmrefine_agent.types import ChatMessage, Image

TEXT_LIMIT = 20_000
"""Characters of a tool's text result sent to the model (the rest is cut, and it says so)."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool call returned: text for the model, an optional image, whether it failed.

    A failure (the tool raised, refused, timed out; an unknown tool; arguments that could not
    be read) is a result too: ``error`` is set and ``text`` says what went wrong, so the model
    can read it and try again.
    """

    call_id: str
    name: str
    text: str
    image: Image | None = None
    error: bool = False

    def message(self) -> ChatMessage:
        """The ``tool`` message answering the call (carrying the image, if any)."""
        images = (self.image,) if self.image is not None else ()
        return ChatMessage("tool", self.text, images, tool_call_id=self.call_id, name=self.name)


def tool_messages(results: Iterable[ToolResult]) -> list[ChatMessage]:
    """The messages that answer a reply's tool calls, in the order of the calls."""
    return [result.message() for result in results]


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` cut at ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[cut: {len(text) - limit} more characters not shown]"


def content_text(content: object) -> str:
    """A tool message's content as text (a string, text parts, or anything as JSON)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, str | dict) for p in content):
        parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content]
        return "".join(parts)
    try:
        return json.dumps(content, ensure_ascii=False, default=str)
    except ValueError:
        return str(content)
