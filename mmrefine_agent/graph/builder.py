"""Build a strategy's graph: the standard shape, the strategy's changes, checks, compile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import MMRefineError, PluginError
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.nodes import STATE_FIELDS, begin_round, end_round, make_node
from mmrefine_agent.graph.routing import after_round, checked
from mmrefine_agent.graph.shape import BEGIN_ROUND, END, END_ROUND, GraphShape, is_langgraph_graph
from mmrefine_agent.graph.state import RefineState, round_resets, state_schema
from mmrefine_agent.graph.strategy import NODES, Strategy

if TYPE_CHECKING:  # imported when a graph is built: the engine's import stays light
    from langgraph.graph import StateGraph


def standard_shape(strategy: Strategy) -> GraphShape:
    """begin_round -> detect -(route)-> locate -> correct -> verify -> end_round -(route)."""
    shape = GraphShape()
    for name in NODES:
        shape.add_node(name, getattr(strategy, name))
    shape.add_edge(BEGIN_ROUND, "detect")
    shape.add_route("detect", strategy.route_after_detect, ["locate", "verify"])
    shape.add_edge("locate", "correct")
    shape.add_edge("correct", "verify")
    shape.add_edge("verify", END_ROUND)
    shape.add_route(END_ROUND, after_round(strategy), [BEGIN_ROUND, END])
    shape.laid_out()
    return shape


def strategy_shape(strategy: Strategy) -> GraphShape:
    """The checked shape of ``strategy``'s graph (standard shape + ``strategy.shape``)."""
    shape = standard_shape(strategy)
    try:
        strategy.shape(shape)
    except MMRefineError:
        raise
    except Exception as exc:  # plugin code: one line naming the strategy, not a traceback
        raise PluginError(
            f"{type(strategy).__name__}.shape failed: {type(exc).__name__}: {exc}"
        ) from exc
    shape.check()
    return shape


def build_graph(
    strategy: Strategy, shape: GraphShape | None = None
) -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled graph whose nodes run ``strategy``'s behaviours (``shape``: already built)."""
    from langgraph.graph import END as LG_END
    from langgraph.graph import START, StateGraph

    from mmrefine_agent.graph.shape_check import loops_of

    shape = shape if shape is not None else strategy_shape(strategy)
    schema = strategy.state_type
    hints = state_schema(schema) if schema is not RefineState else None
    fields = frozenset(hints) if hints is not None else STATE_FIELDS
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(schema, context_schema=GraphContext)
    resets = round_resets(hints) if hints is not None else None
    graph.add_node(BEGIN_ROUND, begin_round(strategy, resets))  # type: ignore[call-overload]
    loops = loops_of(shape)
    for name, behaviour in shape.nodes.items():
        destinations = shape.destinations.get(name)
        if is_langgraph_graph(behaviour):
            from mmrefine_agent.graph.subgraphs import subgraph_node

            node = subgraph_node(name, behaviour, strategy, hints or state_schema(RefineState))
        else:
            node = make_node(name, behaviour, strategy, fields=fields, loop=loops.get(name),
                             destinations=destinations)  # fmt: skip
        extra = (
            {"destinations": tuple(_lg(d, LG_END) for d in destinations)} if destinations else {}
        )
        graph.add_node(name, node, **extra)  # type: ignore[call-overload]
    graph.add_node(END_ROUND, end_round)  # type: ignore[call-overload]
    graph.add_edge(START, BEGIN_ROUND)
    for source in [*shape.edges, *shape.branches]:
        for target in shape.fixed(source):
            graph.add_edge(source, _lg(target, LG_END))
    for sources, target in shape.joins.items():
        graph.add_edge(list(sources), _lg(target, LG_END))
    for source, route in shape.routes.items():
        path_map = {d: _lg(d, LG_END) for d in route.destinations}
        graph.add_conditional_edges(source, untraced(checked(source, route)), path_map)  # type: ignore[arg-type]
    return graph


def _lg(name: str, lg_end: str) -> str:
    return lg_end if name == END else name


def untraced(router: Callable[[RefineState], Awaitable[str]]) -> Any:
    """A router as LangGraph's own untraced runnable (as it wraps nodes).

    LangGraph wraps a plain function given as a conditional edge in a *traced* runnable: a
    callback manager, a run id and a task per decision, most of a router's cost. Nothing here
    listens to LangChain callbacks (steps are traced by the framework), so routers run
    untraced. Should a LangGraph version not have the wrapper, the router is passed as is.
    """
    try:
        from langgraph._internal._runnable import RunnableCallable
    except ImportError:  # pragma: no cover - depends on the LangGraph version
        return router
    return RunnableCallable(None, router, name=router.__name__, trace=False)


def compile_graph(strategy: Strategy, shape: GraphShape | None = None) -> Any:
    """Compile the graph for a run (no checkpointer: results are persisted by the engine)."""
    return build_graph(strategy, shape).compile()
