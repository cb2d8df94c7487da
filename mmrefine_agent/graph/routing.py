"""Routers for the conditional edges: checked at run time, ``max_rounds`` enforced once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mmrefine_agent.errors import NodeFailed, RouteError
from mmrefine_agent.graph.commands import checked_targets
from mmrefine_agent.graph.shape import BEGIN_ROUND, END, END_NAMES, Route, Router
from mmrefine_agent.graph.state import RefineState
from mmrefine_agent.graph.strategy import Strategy

NEXT_ROUND_NAMES = ("detect", "again", "next_round", BEGIN_ROUND)


def after_round(strategy: Strategy) -> Router:
    """After ``end_round``: another round when the strategy asks and rounds are left.

    This is the one place where ``strategy.max_rounds`` is enforced.
    """

    def route(state: RefineState) -> str:
        wanted = strategy.route_after_verify(state)
        if wanted in NEXT_ROUND_NAMES and state.get("round", 1) < strategy.max_rounds:
            return BEGIN_ROUND
        if wanted in NEXT_ROUND_NAMES or wanted in END_NAMES:
            return END
        raise RouteError(
            f"{type(strategy).__name__}.route_after_verify returned {wanted!r}; allowed: "
            "'detect' (another round) or 'end'"
        )

    route.__name__ = "after_round"
    return route


def checked(source: str, route: Route) -> Callable[[RefineState], Awaitable[Any]]:
    """The router with its answer checked against the declared destinations.

    One name (the common case, checked first), several names (they run in parallel) or
    ``Send`` objects. A coroutine function (the strategy's router is a plain one, called
    inside it), so LangGraph runs it in the event loop instead of a worker thread.
    """
    destinations = route.destinations
    what = f"the route after '{source}'"

    async def decide(state: Any) -> Any:  # Any: LangGraph reads the whole state for it
        try:
            answer = route.router(state)
        except (RouteError, NodeFailed):
            raise
        except Exception as exc:  # router code of a plugin
            raise NodeFailed(f"route:{source}", exc) from exc
        if type(answer) is str:
            value = END if answer in END_NAMES else answer
            if value in destinations:
                return value
        return checked_targets(what, answer, destinations, state)

    decide.__name__ = f"route_after_{source}"
    return decide
