"""The editable shape of a strategy's graph: nodes, fixed edges and routes.

The framework lays out the standard shape, hands it to :meth:`Strategy.shape`, checks it and
compiles it. The standard shape, with the framework's own bookkeeping nodes visible::

    START -> begin_round -> detect -(route)-> locate | verify
    locate -> correct -> verify -> end_round -(route)-> begin_round | END

A strategy adds nodes (a plan, a critique turn, several samples, a tool call), edges and
routes; ``begin_round`` and ``end_round`` belong to the framework and cannot be removed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import PluginError

if TYPE_CHECKING:
    from mmrefine_agent.graph.state import RefineState
    from mmrefine_agent.graph.strategy import NodeContext

Behaviour = Callable[["RefineState", "NodeContext"], Awaitable[dict[str, Any]]]
Router = Callable[["RefineState"], str]

BEGIN_ROUND = "begin_round"
END_ROUND = "end_round"
END = "__end__"
FRAMEWORK_NODES = (BEGIN_ROUND, END_ROUND)
END_NAMES = ("end", "__end__", "END")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(slots=True)
class Route:
    """A conditional edge: a router and the destinations it may return."""

    router: Router
    destinations: tuple[str, ...]


@dataclass(slots=True)
class GraphShape:
    """Nodes (name -> behaviour), fixed edges (source -> target) and routes of one graph."""

    nodes: dict[str, Behaviour] = field(default_factory=dict)
    edges: dict[str, str] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)

    def add_node(self, name: str, behaviour: Behaviour) -> None:
        """Add a node whose behaviour is ``async (state, ctx) -> partial update``."""
        if not _NAME.match(name) or name in FRAMEWORK_NODES or name in END_NAMES:
            raise PluginError(
                f"graph node name {name!r} is not allowed (reserved or not an identifier)"
            )
        if name in self.nodes:
            raise PluginError(f"graph node {name!r} is added twice")
        self.nodes[name] = behaviour

    def remove_node(self, name: str) -> None:
        """Remove a node with its edges and routes (the edges into it must be rewired)."""
        self.nodes.pop(name, None)
        self.edges.pop(name, None)
        self.routes.pop(name, None)

    def add_edge(self, source: str, target: str) -> None:
        """A fixed edge (a node has one fixed edge or one route, not both)."""
        self.routes.pop(source, None)
        self.edges[source] = END if target in END_NAMES else target

    def add_route(self, source: str, router: Router, destinations: Iterable[str]) -> None:
        """A conditional edge: ``router(state)`` returns one of ``destinations`` ("end" ends)."""
        self.edges.pop(source, None)
        self.routes[source] = Route(
            router, tuple(END if d in END_NAMES else d for d in destinations)
        )

    def _retarget(self, old: str, new: str) -> None:
        for source, target in list(self.edges.items()):
            if target == old and source != new:
                self.edges[source] = new
        for source, route in self.routes.items():
            if source != new:
                route.destinations = tuple(new if d == old else d for d in route.destinations)
                router = route.router
                route.router = _renamed(router, old, new)

    def insert_before(self, target: str, name: str, behaviour: Behaviour | None = None) -> None:
        """Put node ``name`` on every way into ``target``; then ``name -> target``."""
        if behaviour is not None:
            self.add_node(name, behaviour)
        self._retarget(target, name)
        self.add_edge(name, target)

    def insert_after(self, source: str, name: str, behaviour: Behaviour | None = None) -> None:
        """Put node ``name`` right after ``source`` (``source -> name -> old successor``)."""
        if behaviour is not None:
            self.add_node(name, behaviour)
        if source in self.routes:
            raise PluginError(f"insert_after({source!r}): it has a route; add_route instead")
        successor = self.edges.get(source)
        self.add_edge(source, name)
        if successor is not None:
            self.add_edge(name, successor)

    def all_nodes(self) -> list[str]:
        """Framework and strategy nodes."""
        return [BEGIN_ROUND, *self.nodes, END_ROUND]

    def check(self) -> None:
        """Every edge and route leads somewhere that exists; every node has a way out."""
        known = set(self.all_nodes()) | {END}
        for source, target in self.edges.items():
            if source not in known:
                raise PluginError(f"graph edge from unknown node {source!r}")
            if target not in known:
                raise PluginError(
                    f"graph edge {source!r} -> {target!r}: no such node; "
                    f"allowed: {', '.join(sorted(known))}"
                )
        for source, route in self.routes.items():
            bad = [d for d in route.destinations if d not in known]
            if bad:
                raise PluginError(
                    f"route after {source!r} names {', '.join(map(repr, bad))}: no such node; "
                    f"allowed: {', '.join(sorted(known))}"
                )
        for name in self.all_nodes():
            if name not in self.edges and name not in self.routes:
                raise PluginError(f"graph node {name!r} has no edge or route out of it")


def _renamed(router: Router, old: str, new: str) -> Router:
    """A router whose answer ``old`` now means ``new`` (after an insertion before ``old``)."""

    def route(state: RefineState) -> str:
        value = router(state)
        return new if value == old else value

    route.__name__ = getattr(router, "__name__", "route")
    return route
