"""Build the refinement StateGraph: detect -> locate -> correct -> verify, with routing."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.nodes import make_node
from mmrefine_agent.graph.routing import after_detect, after_verify
from mmrefine_agent.graph.state import RefineState
from mmrefine_agent.graph.strategy import NODES, Strategy


def build_graph(strategy: Strategy) -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled graph whose nodes run ``strategy``'s behaviours."""
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(RefineState, context_schema=GraphContext)
    for name in NODES:
        graph.add_node(name, make_node(name, strategy))  # type: ignore[call-overload]
    graph.add_edge(START, "detect")
    graph.add_conditional_edges("detect", after_detect(strategy), ["locate", "verify"])
    graph.add_edge("locate", "correct")
    graph.add_edge("correct", "verify")
    graph.add_conditional_edges("verify", after_verify(strategy), ["detect", END])
    return graph


def compile_graph(strategy: Strategy) -> Any:
    """Compile the graph for a run (no checkpointer: results are persisted by the runner)."""
    return build_graph(strategy).compile()
