"""A LangGraph graph as a node of a strategy's graph, its own nodes traced as ``outer/inner``.

A strategy builds a ``StateGraph`` over its state type (or :class:`RefineState`) with
LangGraph itself, compiles it if it likes, and adds it with ``graph.add_node(name, graph)``.
When the strategy's graph is built, the subgraph is rebuilt with each of its nodes wrapped
like a strategy node: a behaviour ``async (state, ctx) -> dict`` (or ``(state) -> dict``)
records a step named ``outer/inner`` with its calls; a subgraph inside it nests the names.
Its result reaches the outer state as the changes its nodes made (what they appended to a
list field with a reducer, the fields they set); ``strategy.max_steps`` bounds its steps.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import PluginError, RouteError
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.nodes import NodeFn, make_node
from mmrefine_agent.graph.shape import Behaviour, is_langgraph_graph
from mmrefine_agent.graph.state import reducer_of, state_schema

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

    from mmrefine_agent.graph.strategy import Strategy


def as_behaviour(name: str, func: Any) -> Behaviour:
    """A subgraph node's function as a behaviour ``async (state, ctx)``."""
    if func is None or not callable(func):
        raise PluginError(f"subgraph node {name!r}: not a function ({type(func).__name__})")
    try:
        takes_ctx = len(inspect.signature(func).parameters) >= 2
    except (TypeError, ValueError):
        takes_ctx = False

    async def behaviour(state: Any, ctx: Any) -> Any:
        result = func(state, ctx) if takes_ctx else func(state)
        return await result if inspect.isawaitable(result) else result

    return behaviour


def traced_subgraph(outer: str, graph: Any, strategy: Strategy) -> Any:
    """``graph`` rebuilt with every node traced as ``outer/inner``, compiled."""
    from langgraph._internal._runnable import coerce_to_runnable

    builder = graph if type(graph).__name__ == "StateGraph" else graph.builder
    hints = state_schema(builder.state_schema)
    fields = frozenset(hints)
    rebuilt = copy.copy(builder)
    rebuilt.compiled = False
    rebuilt.context_schema = GraphContext
    rebuilt.nodes = {}
    for name, spec in builder.nodes.items():
        inner = f"{outer}/{name}"
        runnable = spec.runnable
        if is_langgraph_graph(runnable):
            node: NodeFn = subgraph_node(inner, runnable, strategy, hints)
        else:
            func = getattr(runnable, "afunc", None) or getattr(runnable, "func", None)
            node = make_node(inner, as_behaviour(inner, func), strategy, fields=fields)
        wrapped = coerce_to_runnable(node, name=name, trace=False)  # type: ignore[arg-type]
        rebuilt.nodes[name] = dataclasses.replace(spec, runnable=wrapped)
    return rebuilt.compile()


def subgraph_node(
    outer: str, graph: Any, strategy: Strategy, outer_hints: Mapping[str, Any]
) -> NodeFn:
    """The node that runs the traced ``graph`` and hands its changes to the outer state."""
    from langgraph.errors import GraphRecursionError

    compiled = traced_subgraph(outer, graph, strategy)
    appended = frozenset(name for name, hint in outer_hints.items() if reducer_of(hint))
    limit = strategy.max_steps

    async def node(state: Any, runtime: Runtime[GraphContext]) -> Any:
        try:
            out = await compiled.ainvoke(state, {"recursion_limit": limit}, context=runtime.context)
        except GraphRecursionError:
            raise RouteError(
                f"the subgraph {outer!r} did not end within {limit} steps "
                "(strategy.max_steps): a loop in it does not end"
            ) from None
        return changes(state, out, appended)

    node.__name__ = outer.replace("/", "__")
    return node


def changes(before: Mapping[str, Any], after: Mapping[str, Any], appended: frozenset[str]) -> Any:
    """What a subgraph changed: new items of list fields with a reducer, fields it set."""
    out: dict[str, Any] = {}
    for key, value in after.items():
        old: Any = before.get(key)
        if value is old or key in ("round", "rounds", "item_key", "carry"):
            continue
        if key in appended and isinstance(old, list) and value[: len(old)] == old:
            if len(value) > len(old):
                out[key] = value[len(old) :]
            continue
        if value != old:
            out[key] = value
    return out
