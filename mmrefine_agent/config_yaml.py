"""YAML for configs, with aliases bounded: no alias bomb, no recursive alias.

Anchors and aliases (``&base`` / ``*base``, ``<<: *base``) are allowed, as long as the values
the aliases stand for add up to at most :data:`MAX_ALIAS_VALUES` (a billion-laughs document,
which expands nine aliases into a billion values, is refused while it is being read, before
anything is expanded). An alias inside the value it refers to (``a: &a [*a]``) is refused
too: it has no finite expansion. Both are a one-line :class:`ConfigError` naming the file.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from mmrefine_agent.errors import ConfigError

MAX_ALIAS_VALUES = 10_000
"""The most values (scalars, lists and mappings) all aliases of one document may stand for."""


class _Refused(Exception):
    """A document whose aliases are refused (the message says why)."""


def _size(node: Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for, aliases expanded (memoised: linear in the graph)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    total = 1
    if isinstance(node, SequenceNode):
        total += sum(_size(child, sizes) for child in node.value)
    elif isinstance(node, MappingNode):
        total += sum(_size(k, sizes) + _size(v, sizes) for k, v in node.value)
    sizes[id(node)] = total
    return total


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that counts what aliases stand for and refuses recursive ones."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._open: list[str] = []
        self._sizes: dict[int, int] = {}
        self._aliased = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose one node; an alias is checked first (recursion, then the running total)."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = event.anchor
        if isinstance(event, AliasEvent):
            if anchor in self._open:
                raise _Refused(
                    f"the YAML alias *{anchor} is inside the value &{anchor} names (a "
                    "recursive alias has no end); refused"
                )
            target = self.anchors.get(anchor)  # an unknown one: PyYAML's own error
            if target is not None:
                self._aliased += _size(target, self._sizes)
                if self._aliased > MAX_ALIAS_VALUES:
                    raise _Refused(
                        f"YAML aliases stand for more than {MAX_ALIAS_VALUES:,} values (an alias "
                        "bomb?); refused"
                    )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        if anchor is None:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        self._open.append(anchor)
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._open.pop()


def load_yaml(text: str, origin: str) -> Any:
    """Parse a YAML document with bounded aliases; errors are one-line ConfigErrors."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{origin}: invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()
