"""Routers for the conditional edges; each asks the strategy and maps to node names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from mmrefine_agent.graph.state import RefineState
from mmrefine_agent.graph.strategy import Strategy

AfterDetect = Literal["locate", "verify"]
AfterVerify = Literal["detect", "__end__"]


def after_detect(strategy: Strategy) -> Callable[[RefineState], AfterDetect]:
    """No error found -> verify (and finish); an error -> locate."""

    def route(state: RefineState) -> AfterDetect:
        return strategy.route_after_detect(state)

    return route


def after_verify(strategy: Strategy) -> Callable[[RefineState], AfterVerify]:
    """Verified, or out of rounds -> end; otherwise another round from detect."""

    def route(state: RefineState) -> AfterVerify:
        if (
            strategy.route_after_verify(state) == "detect"
            and state.get("round", 1) < strategy.max_rounds
        ):
            return "detect"
        return "__end__"

    return route
