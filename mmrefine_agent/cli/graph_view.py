"""``mmrefine graph STRATEGY``: a strategy's checked graph as text (or Mermaid)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from mmrefine_agent import BEGIN_ROUND, GraphShape, Strategy
from mmrefine_agent.graph.shape import END, is_langgraph_graph
from mmrefine_agent.graph.strategy import declared_options


def _shown(name: str) -> str:
    return "END" if name == END else name


def round_order(shape: GraphShape) -> list[str]:
    """The nodes in the order a round meets them (depth first from ``begin_round``)."""
    order: list[str] = []
    todo = [BEGIN_ROUND]
    while todo:
        name = todo.pop()
        if name in order or name == END:
            continue
        order.append(name)
        todo.extend(reversed(shape.successors(name)))
    return order


def graph_lines(shape: GraphShape) -> list[str]:
    """One line per way out of a node; a subgraph's own edges are listed under it.

    ``->`` an edge (to several joined by ``&``: parallel branches), ``-?->`` a route,
    ``-cmd->`` a ``Command``'s destinations, ``a + b -> c`` a join that waits for all.
    """
    lines = [f"START -> {BEGIN_ROUND}"]
    for name in round_order(shape):
        fixed = shape.fixed(name)
        if len(fixed) > 1:
            lines.append(f"{name} -> {' & '.join(map(_shown, fixed))}   (parallel branches)")
        elif fixed:
            lines.append(f"{name} -> {_shown(fixed[0])}")
        if name in shape.routes:
            route = shape.routes[name]
            targets = " | ".join(_shown(d) for d in route.destinations)
            router = getattr(route.router, "__name__", "router")
            lines.append(f"{name} -?-> {targets}   (route: {router})")
        if name in shape.destinations:
            targets = " | ".join(_shown(d) for d in shape.destinations[name])
            lines.append(f"{name} -cmd-> {targets}   (Command)")
        for sources, target in shape.joins.items():
            if name == sources[-1]:
                lines.append(f"{' + '.join(sources)} -> {_shown(target)}   (waits for all)")
        if is_langgraph_graph(shape.nodes.get(name)):
            lines += [f"  {line}" for line in subgraph_lines(name, shape.nodes[name])]
    return lines


def subgraph_lines(outer: str, graph: Any) -> list[str]:
    """The nodes and edges of a subgraph node, as LangGraph draws them (``outer/inner``)."""
    compiled = graph.compile() if type(graph).__name__ == "StateGraph" else graph
    drawn = compiled.get_graph()
    return [
        f"[{outer}] {edge.source} {'-?->' if edge.conditional else '->'} {edge.target}"
        for edge in drawn.edges
    ]


def print_graph(console: Console, strategy: Strategy, shape: GraphShape) -> None:
    """The strategy, its graph, the options it reads and what it carries between rounds."""
    head = Text(strategy.name or type(strategy).__name__, style="bold")
    head.append(f": {strategy.description} (max_rounds {strategy.max_rounds})", style="")
    console.print(head, soft_wrap=True)
    for line in graph_lines(shape):
        console.print(Text(f"  {line}"), soft_wrap=True)
    options = declared_options(type(strategy))
    if options is None:
        lines = ["options: not declared (options_doc); any strategy.options accepted"]
    else:
        lines = [f"option strategy.options.{k}: {v}" for k, v in options.items()]
    if options == {}:
        lines = ["options: none"]
    if strategy.carry_type is not None:
        lines.append(f"carried between rounds: {strategy.carry_type.__name__}")
    if strategy.uses_gold:
        lines.append(
            "uses the gold answer or label while refining (uses_gold): not paper-comparable"
        )
    for line in lines:
        console.print(Text(line), soft_wrap=True)
