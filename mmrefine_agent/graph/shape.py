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
FIXED_NODES = ("detect", "locate", "correct", "verify")
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
    _laid_out: bool = field(default=False, repr=False)

    def laid_out(self) -> None:
        """Mark the standard layout done: from now on the way out of ``end_round`` is fixed."""
        self._laid_out = True

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
        """Remove a node a strategy added, with its way out (the edges into it must be rewired).

        The four named nodes and the framework's round nodes stay.
        """
        if name in FIXED_NODES or name in FRAMEWORK_NODES:
            raise PluginError(f"graph node {name!r} cannot be removed (the four named nodes and "
                              "begin_round/end_round stay)")  # fmt: skip
        if name not in self.nodes:
            raise PluginError(f"remove_node({name!r}): no such node; nodes: {self._names()}")
        del self.nodes[name]
        self.edges.pop(name, None)
        self.routes.pop(name, None)

    def add_edge(self, source: str, target: str) -> None:
        """A fixed edge (a node has one fixed edge or one route, not both)."""
        self._own_way_out(source)
        self.routes.pop(source, None)
        self.edges[source] = END if target in END_NAMES else target

    def add_route(self, source: str, router: Router, destinations: Iterable[str]) -> None:
        """A conditional edge: ``router(state)`` returns one of ``destinations`` ("end" ends)."""
        self._own_way_out(source)
        targets = tuple(dict.fromkeys(END if d in END_NAMES else d for d in destinations))
        if not targets:
            raise PluginError(f"route after {source!r} has no destinations")
        self.edges.pop(source, None)
        self.routes[source] = Route(router, targets)

    def _own_way_out(self, source: str) -> None:
        """The way out of ``end_round`` is the framework's (the one place max_rounds is kept)."""
        if source == END_ROUND and self._laid_out:
            raise PluginError(
                "the route after 'end_round' belongs to the framework (it enforces max_rounds); "
                "override route_after_verify or next_round_solution instead"
            )

    def _names(self) -> str:
        return ", ".join(self.all_nodes())

    def _require(self, name: str, call: str) -> None:
        if name not in self.all_nodes():
            raise PluginError(f"{call}: no node {name!r}; nodes: {self._names()}")

    def _retarget(self, old: str, new: str) -> None:
        for source, target in list(self.edges.items()):
            if target == old and source != new:
                self.edges[source] = new
        for source, route in self.routes.items():
            if source != new and old in route.destinations:
                route.destinations = tuple(new if d == old else d for d in route.destinations)
                route.router = _renamed(route.router, old, new)

    def insert_before(self, target: str, name: str, behaviour: Behaviour | None = None) -> None:
        """Put node ``name`` on every way into ``target``; then ``name -> target``."""
        self._require(target, f"insert_before({target!r}, {name!r})")
        if target == BEGIN_ROUND:
            raise PluginError(
                f"insert_before('begin_round', {name!r}): rounds begin from end_round only; "
                f"insert_after('begin_round', {name!r}) runs it at the start of every round"
            )
        if behaviour is not None:
            self.add_node(name, behaviour)
        self._retarget(target, name)
        self.add_edge(name, target)

    def insert_after(self, source: str, name: str, behaviour: Behaviour | None = None) -> None:
        """Put node ``name`` right after ``source`` (``source -> name -> old successor``)."""
        self._require(source, f"insert_after({source!r}, {name!r})")
        if source in self.routes:
            raise PluginError(f"insert_after({source!r}): it has a route; add_route instead")
        if behaviour is not None:
            self.add_node(name, behaviour)
        successor = self.edges.get(source)
        self.add_edge(source, name)
        if successor is not None:
            self.add_edge(name, successor)

    def all_nodes(self) -> list[str]:
        """Framework and strategy nodes."""
        return [BEGIN_ROUND, *self.nodes, END_ROUND]

    def check(self) -> None:
        """Every edge and route leads to a node that exists; every node is reached and left."""
        known = set(self.all_nodes())
        allowed = ", ".join(n for n in self.all_nodes() if n != BEGIN_ROUND)
        ways: list[tuple[str, str, tuple[str, ...]]]
        ways = [(f"graph edge {s!r} -> {t!r}", s, (t,)) for s, t in self.edges.items()]
        ways += [(f"route after {s!r}", s, r.destinations) for s, r in self.routes.items()]
        for what, source, targets in ways:
            if source not in known:
                raise PluginError(f"{what}: no node {source!r}; nodes: {self._names()}")
            bad = [t for t in targets if t not in known | {END}]
            if bad:
                names = f" names {', '.join(map(repr, bad))}" if source in self.routes else ""
                raise PluginError(f"{what}{names}: no such node; allowed: {allowed}")
            between = [t for t in targets if t in (END, BEGIN_ROUND)]
            if between and source != END_ROUND:
                raise PluginError(
                    f"{what}: leads to {_shown(between[0])!r}; a round ends at 'end_round' "
                    "(it records the round; its route ends the item or begins the next round, "
                    "and enforces max_rounds)"
                )
        for name in self.all_nodes():
            if name not in self.edges and name not in self.routes:
                raise PluginError(f"graph node {name!r} has no edge or route out of it")
        stuck = [name for name in self.all_nodes() if END_ROUND not in self.reachable(name)]
        if stuck:
            raise PluginError(
                f"graph node(s) {', '.join(map(repr, stuck))} never lead to end_round "
                "(a round that cannot end)"
            )
        lost = [name for name in self.all_nodes() if name not in self.reachable()]
        if lost:
            raise PluginError(
                f"graph node(s) {', '.join(map(repr, lost))} cannot be reached from begin_round "
                "(add an edge or a route into them)"
            )

    def successors(self, name: str) -> tuple[str, ...]:
        """Where ``name`` may lead: its fixed edge's target or its route's destinations."""
        if name in self.routes:
            return self.routes[name].destinations
        return (self.edges[name],) if name in self.edges else ()

    def reachable(self, start: str = BEGIN_ROUND) -> set[str]:
        """The nodes a run can reach from ``start`` (itself included)."""
        seen: set[str] = set()
        todo = [start]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.successors(name))
        return seen


def _shown(name: str) -> str:
    return "end" if name == END else name


def _renamed(router: Router, old: str, new: str) -> Router:
    """A router whose answer ``old`` now means ``new`` (after an insertion before ``old``)."""

    def route(state: RefineState) -> str:
        value = router(state)
        return new if value == old else value

    route.__name__ = getattr(router, "__name__", "route")
    return route
