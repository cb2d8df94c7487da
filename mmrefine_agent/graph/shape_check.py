"""The checks a strategy's graph shape passes before it compiles, and the loops in a round.

Every edge, branch, join, route and ``Command`` destination leads to a node that exists (a
bad one is named with the allowed ones); every node is left and reached from
``begin_round`` and leads to ``end_round``; only the framework's route after ``end_round``
ends the item or begins the next round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmrefine_agent.errors import PluginError
from mmrefine_agent.graph.shape import BEGIN_ROUND, END, END_ROUND

if TYPE_CHECKING:
    from mmrefine_agent.graph.shape import GraphShape


def _shown(name: str) -> str:
    return "end" if name == END else name


def _ways(shape: GraphShape) -> list[tuple[str, str, tuple[str, ...], bool]]:
    """(what, source, targets, named) for every way out of a node."""
    ways: list[tuple[str, str, tuple[str, ...], bool]]
    ways = [(f"graph edge {s!r} -> {t!r}", s, (t,), False) for s, t in shape.edges.items()]
    ways += [
        (f"graph edge {s!r} -> {t!r}", s, (t,), False)
        for s, targets in shape.branches.items()
        for t in targets
    ]
    ways += [(f"route after {s!r}", s, r.destinations, True) for s, r in shape.routes.items()]
    ways += [(f"Command from {s!r}", s, d, True) for s, d in shape.destinations.items()]
    for sources, target in shape.joins.items():
        ways += [(f"join {list(sources)!r} -> {target!r}", s, (target,), False) for s in sources]
    return ways


def check_shape(shape: GraphShape) -> None:
    """Raise PluginError naming the first way out, node or loop that cannot run."""
    known = set(shape.all_nodes())
    allowed = ", ".join(n for n in shape.all_nodes() if n != BEGIN_ROUND)
    for what, source, targets, named in _ways(shape):
        if source not in known:
            raise PluginError(f"{what}: no node {source!r}; nodes: {', '.join(shape.all_nodes())}")
        bad = [t for t in targets if t not in known | {END}]
        if bad:
            names = f" names {', '.join(map(repr, bad))}" if named else ""
            raise PluginError(f"{what}{names}: no such node; allowed: {allowed}")
        between = [t for t in targets if t in (END, BEGIN_ROUND)]
        if between and source != END_ROUND:
            raise PluginError(
                f"{what}: leads to {_shown(between[0])!r}; a round ends at 'end_round' "
                "(it records the round; its route ends the item or begins the next round, "
                "and enforces max_rounds)"
            )
    for name in shape.all_nodes():
        if not shape.successors(name):
            raise PluginError(f"graph node {name!r} has no edge or route out of it")
    stuck = [name for name in shape.all_nodes() if END_ROUND not in shape.reachable(name)]
    if stuck:
        raise PluginError(
            f"graph node(s) {', '.join(map(repr, stuck))} never lead to end_round "
            "(a round that cannot end)"
        )
    lost = [name for name in shape.all_nodes() if name not in shape.reachable()]
    if lost:
        raise PluginError(
            f"graph node(s) {', '.join(map(repr, lost))} cannot be reached from begin_round "
            "(add an edge or a route into them)"
        )


def round_successors(shape: GraphShape, name: str) -> tuple[str, ...]:
    """Where ``name`` may lead inside a round (the way back to ``begin_round`` left out)."""
    return tuple(t for t in shape.successors(name) if t not in (BEGIN_ROUND, END))


def loops_of(shape: GraphShape) -> dict[str, tuple[str, ...]]:
    """Each node that lies on a loop inside a round -> one such loop (it starts and ends there).

    These are the nodes ``strategy.max_steps`` bounds: a node on a loop that runs more often
    than that in one round fails its item, naming the loop.
    """
    loops: dict[str, tuple[str, ...]] = {}
    for start in shape.all_nodes():
        path = _path_back(shape, start)
        if path is not None:
            loops[start] = path
    return loops


def _path_back(shape: GraphShape, start: str) -> tuple[str, ...] | None:
    """The shortest path ``start -> ... -> start`` inside a round, or None."""
    came_from: dict[str, str] = {}
    todo = [start]
    while todo:
        following: list[str] = []
        for name in todo:
            for nxt in round_successors(shape, name):
                if nxt == start:
                    chain = [name]
                    while chain[-1] != start:
                        chain.append(came_from[chain[-1]])
                    return (*reversed(chain), start)
                if nxt not in came_from:
                    came_from[nxt] = name
                    following.append(nxt)
        todo = following
    return None
