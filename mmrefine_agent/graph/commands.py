"""``Command`` from a node and several destinations from a router, checked as they run.

A node may return LangGraph's ``Command(update=..., goto=...)``: its update is checked like
any node's and its ``goto`` (a name, a ``Send`` or a list of them) against the destinations
the node declared. A router may return a name, several names or ``Send`` objects; a ``Send``
runs its node with the state and the ``Send``'s values on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import RouteError
from mmrefine_agent.graph.shape import END, END_NAMES

if TYPE_CHECKING:
    from mmrefine_agent.graph.strategy import Strategy
    from mmrefine_agent.records.steps import StepRecord


def is_command(value: object) -> bool:
    """Whether ``value`` is a LangGraph ``Command``."""
    return type(value).__name__ == "Command" and hasattr(value, "goto")


def is_send(value: object) -> bool:
    """Whether ``value`` is a LangGraph ``Send``."""
    return type(value).__name__ == "Send" and hasattr(value, "arg")


def shown(names: tuple[str, ...]) -> str:
    """Destinations as a person reads them ("end" for the end)."""
    return ", ".join("end" if d == END else d for d in names) or "none declared"


def checked_targets(
    what: str, answer: Any, allowed: tuple[str, ...], state: Mapping[str, Any] | None
) -> Any:
    """``answer`` (a name, a ``Send``, or a list of them) checked against ``allowed``.

    Names are normalised ("end" -> END); a ``Send``'s values are laid over ``state``.
    """
    many = isinstance(answer, list | tuple)
    values = list(answer) if many else [answer]
    if not values:
        raise RouteError(f"{what} returned no destination; allowed: {shown(allowed)}")
    out: list[Any] = []
    for value in values:
        if is_send(value):
            if value.node not in allowed:
                raise RouteError(f"{what} sent to {value.node!r}; allowed: {shown(allowed)}")
            if state is not None and isinstance(value.arg, Mapping):
                value = type(value)(value.node, {**state, **value.arg})
            out.append(value)
            continue
        name = END if isinstance(value, str) and value in END_NAMES else value
        if not isinstance(name, str) or name not in allowed:
            raise RouteError(f"{what} returned {value!r}; allowed: {shown(allowed)}")
        out.append(name)
    return out if many else out[0]


def checked_command(
    node: str,
    command: Any,
    destinations: tuple[str, ...] | None,
    strategy: Strategy,
    step: StepRecord,
    fields: frozenset[str],
    state: Mapping[str, Any],
) -> Any:
    """The ``Command`` a node returned, its update and ``goto`` checked."""
    from mmrefine_agent.graph.nodes import checked_update

    if getattr(command, "graph", None) is not None:
        raise RouteError(f"node {node!r} returned a Command for another graph; not supported")
    update = command.update
    checked = checked_update(strategy, dict(update) if update is not None else None, step, fields)
    if step.parse_errors:
        checked["parse_errors"] = [f"{node}: {p}" for p in step.parse_errors]
    goto = command.goto
    if goto not in ((), [], None):
        goto = checked_targets(f"the Command from {node!r}", goto, destinations or (), state)
    return type(command)(update=checked, goto=goto)
