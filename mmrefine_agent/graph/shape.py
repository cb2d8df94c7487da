"""The editable shape of a strategy's graph: nodes, fixed edges, routes, branches and joins.

The framework lays out the standard shape, hands it to :meth:`Strategy.shape`, checks it and
compiles it. The standard shape, with the framework's own bookkeeping nodes visible::

    START -> begin_round -> detect -(route)-> locate | verify
    locate -> correct -> verify -> end_round -(route)-> begin_round | END

A strategy adds nodes (a plan, a critique turn, parallel reviewers, a compiled LangGraph
subgraph, a tool node), edges (several out of one node start parallel branches; an edge
from several nodes waits for all of them), routes (a router may return one name, several,
or LangGraph ``Send``s) and the destinations of a node that returns a ``Command``;
``begin_round`` and ``end_round`` belong to the framework and cannot be removed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import PluginError

if TYPE_CHECKING:
    from mmrefine_agent.graph.state import RefineState
    from mmrefine_agent.graph.strategy import NodeContext

Behaviour = Callable[["RefineState", "NodeContext"], Awaitable[Any]]
Router = Callable[["RefineState"], Any]
"""Returns a node name, several names, LangGraph ``Send``s, or a list of them."""

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


def is_langgraph_graph(value: object) -> bool:
    """Whether ``value`` is a LangGraph ``StateGraph`` or a compiled one (a subgraph node)."""
    return any(c.__name__ in ("StateGraph", "CompiledStateGraph") for c in type(value).__mro__)


@dataclass(slots=True)
class GraphShape:
    """Nodes (name -> behaviour or subgraph) and the ways out of them.

    ``edges`` maps a node with one fixed edge to its target and ``branches`` a node with
    several to theirs (they start together, as parallel branches); ``joins`` maps a group of
    nodes to the node that waits for all of them; ``routes`` holds the conditional edges and
    ``destinations`` the nodes a ``Command`` returned by a node may go to.
    """

    nodes: dict[str, Any] = field(default_factory=dict)
    edges: dict[str, str] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    branches: dict[str, tuple[str, ...]] = field(default_factory=dict)
    joins: dict[tuple[str, ...], str] = field(default_factory=dict)
    destinations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _laid_out: bool = field(default=False, repr=False)

    def laid_out(self) -> None:
        """Mark the standard layout done: from now on the way out of ``end_round`` is fixed."""
        self._laid_out = True

    def add_node(
        self, name: str, behaviour: Any, *, destinations: Iterable[str] | None = None
    ) -> None:
        """Add a node: ``async (state, ctx) -> update`` or a (compiled) LangGraph subgraph.

        A behaviour may return a partial update (a dict) or a LangGraph ``Command``;
        ``destinations`` names where its ``Command(goto=...)`` may lead (checked like a
        route). A subgraph's own nodes are traced as steps named ``name/inner``.
        """
        if not _NAME.match(name) or name in FRAMEWORK_NODES or name in END_NAMES:
            raise PluginError(
                f"graph node name {name!r} is not allowed (reserved or not an identifier)"
            )
        if name in self.nodes:
            raise PluginError(f"graph node {name!r} is added twice")
        if type(behaviour).__name__ == "ToolNode":
            raise PluginError(
                f"graph node {name!r}: use graph.add_tool_node({name!r}) (it runs the tool "
                "calls of the last message over the run's registered tools, traced as a step)"
            )
        if not is_langgraph_graph(behaviour) and not callable(behaviour):
            raise PluginError(
                f"graph node {name!r}: expected async (state, ctx) -> dict or a LangGraph "
                f"graph, not {type(behaviour).__name__}"
            )
        self.nodes[name] = behaviour
        if destinations is not None:
            self.destinations[name] = tuple(END if d in END_NAMES else d for d in destinations)

    def add_tool_node(self, name: str, messages: str = "messages") -> None:
        """A tool node: runs the tool calls of the last message in ``state[messages]``.

        The strategy's ``state_type`` declares ``messages`` as a list with an appending
        reducer; the node appends one tool message per call (in call order), and its step
        records each run. A route after the model's node usually leads here when the reply
        has tool calls, and an edge leads back (``strategy.max_steps`` bounds the loop).
        """
        from mmrefine_agent.graph.tool_steps import tool_node

        self.add_node(name, tool_node(messages))

    def remove_node(self, name: str) -> None:
        """Remove a node a strategy added, with its ways out (the edges into it must be rewired).

        The four named nodes and the framework's round nodes stay.
        """
        if name in FIXED_NODES or name in FRAMEWORK_NODES:
            raise PluginError(f"graph node {name!r} cannot be removed (the four named nodes and "
                              "begin_round/end_round stay)")  # fmt: skip
        if name not in self.nodes:
            raise PluginError(f"remove_node({name!r}): no such node; nodes: {self._names()}")
        del self.nodes[name]
        self.edges.pop(name, None)
        self.branches.pop(name, None)
        self.routes.pop(name, None)
        self.destinations.pop(name, None)

    def add_edge(self, source: str | Sequence[str], target: str) -> None:
        """A fixed edge. A second edge out of a node adds a parallel branch (as in LangGraph).

        ``source`` may be several nodes: ``target`` then waits until all of them have run (a
        join). An edge out of a node that has a route replaces the route.
        """
        if not isinstance(source, str):
            sources = tuple(source)
            if len(sources) < 2:
                raise PluginError(f"a join into {target!r} needs at least two source nodes")
            self.joins[sources] = END if target in END_NAMES else target
            return
        self._own_way_out(source)
        self.routes.pop(source, None)
        target = END if target in END_NAMES else target
        present = self.fixed(source)
        if target not in present:
            self._set_fixed(source, (*present, target))

    def remove_edge(self, source: str, target: str) -> None:
        """Remove the fixed edge ``source -> target`` (to rewire it)."""
        present = self.fixed(source)
        if target not in present:
            shown = ", ".join(present) or "none"
            raise PluginError(f"remove_edge({source!r}, {target!r}): no such edge "
                              f"(edges out of {source!r}: {shown})")  # fmt: skip
        self._set_fixed(source, tuple(t for t in present if t != target))

    def add_route(self, source: str, router: Router, destinations: Iterable[str]) -> None:
        """A conditional edge: ``router(state)`` returns one or several of ``destinations``.

        It may return a name ("end" ends), a list of names (they run in parallel) or
        LangGraph ``Send(node, values)`` objects (the node runs once per ``Send``, seeing
        the state with ``values`` on top). It replaces the node's fixed edges.
        """
        self._own_way_out(source)
        targets = tuple(dict.fromkeys(END if d in END_NAMES else d for d in destinations))
        if not targets:
            raise PluginError(f"route after {source!r} has no destinations")
        self._set_fixed(source, ())
        self.routes[source] = Route(router, targets)

    def fixed(self, source: str) -> tuple[str, ...]:
        """The targets of ``source``'s fixed edges."""
        if source in self.edges:
            return (self.edges[source],)
        return self.branches.get(source, ())

    def _set_fixed(self, source: str, targets: tuple[str, ...]) -> None:
        self.edges.pop(source, None)
        self.branches.pop(source, None)
        if len(targets) == 1:
            self.edges[source] = targets[0]
        elif targets:
            self.branches[source] = targets

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
        for source in [*self.edges, *self.branches]:
            if source != new and old in self.fixed(source):
                self._set_fixed(source, tuple(new if t == old else t for t in self.fixed(source)))
        for source, route in self.routes.items():
            if source != new and old in route.destinations:
                route.destinations = tuple(new if d == old else d for d in route.destinations)
                route.router = _renamed(route.router, old, new)

    def insert_before(self, target: str, name: str, behaviour: Any = None) -> None:
        """Put node ``name`` on every edge and route into ``target``; then ``name -> target``."""
        self._require(target, f"insert_before({target!r}, {name!r})")
        if target == BEGIN_ROUND:
            raise PluginError(
                f"insert_before('begin_round', {name!r}): rounds begin from end_round only; "
                f"insert_after('begin_round', {name!r}) runs it at the start of every round"
            )
        if behaviour is not None:
            self.add_node(name, behaviour)
        self._retarget(target, name)
        self._set_fixed(name, (target,))

    def insert_after(self, source: str, name: str, behaviour: Any = None) -> None:
        """Put node ``name`` right after ``source`` (``source -> name -> old successors``)."""
        self._require(source, f"insert_after({source!r}, {name!r})")
        if source in self.routes:
            raise PluginError(f"insert_after({source!r}): it has a route; add_route instead")
        if behaviour is not None:
            self.add_node(name, behaviour)
        successors = self.fixed(source)
        self._set_fixed(source, (name,))
        if successors:
            self._set_fixed(name, successors)

    def all_nodes(self) -> list[str]:
        """Framework and strategy nodes."""
        return [BEGIN_ROUND, *self.nodes, END_ROUND]

    def check(self) -> None:
        """Every way out leads to a node that exists; every node is reached and left."""
        from mmrefine_agent.graph.shape_check import check_shape

        check_shape(self)

    def successors(self, name: str) -> tuple[str, ...]:
        """Where ``name`` may lead: fixed edges, route destinations, Command gotos, joins."""
        found = list(self.fixed(name))
        if name in self.routes:
            found += self.routes[name].destinations
        found += self.destinations.get(name, ())
        found += [t for sources, t in self.joins.items() if name in sources]
        return tuple(dict.fromkeys(found))

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


def _renamed(router: Router, old: str, new: str) -> Router:
    """A router whose answer ``old`` now means ``new`` (after an insertion before ``old``)."""

    def one(value: Any) -> Any:
        if value == old and isinstance(value, str):
            return new
        if getattr(value, "node", None) == old and hasattr(value, "arg"):  # a Send
            return type(value)(new, value.arg)
        return value

    def route(state: RefineState) -> Any:
        value = router(state)
        if isinstance(value, list | tuple):
            return [one(v) for v in value]
        return one(value)

    route.__name__ = getattr(router, "__name__", "route")
    return route
