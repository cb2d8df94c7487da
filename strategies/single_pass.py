"""``single_pass``: the paper protocol.

One model call with the official refinement prompt (in ``detect``); ``locate``, ``correct``
and ``verify`` parse that one answer. The class is the public base
:class:`mmrefine_agent.SinglePass` (plugins subclass it from there); this module registers it.
"""

from __future__ import annotations

from mmrefine_agent import (
    ParsedRefinement,
    RefineState,
    RegisterStrategy,
    SinglePass,
    hookimpl,
    official_refinement_prompt,
)

__all__ = ["SinglePass", "official_refinement_prompt", "parsed_of"]


def parsed_of(state: RefineState) -> ParsedRefinement:
    """The parsed answer stored by ``detect`` in this round's scratch."""
    return SinglePass.parsed_of(state)


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Register ``single_pass``."""
    register("single_pass", SinglePass)
