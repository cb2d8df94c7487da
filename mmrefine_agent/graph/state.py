"""The typed state that flows through the refinement graph.

Every field is overwritten by the node that returns it, except those marked *appended*,
which use a list-concatenation reducer so each round adds to the history. A strategy adds
its own typed fields by extending :class:`RefineState` (its ``state_type``); a field with a
reducer (``Annotated[list[str], operator.add]``) joins what parallel branches return, and
``begin_round`` starts every such field of the strategy empty.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

Verdict = Literal["correct", "incorrect"]


class RoundRecord(TypedDict, total=False):
    """What one round concluded (appended to ``RefineState.rounds`` by ``end_round``)."""

    round: int
    reviewed_solution: str
    verdict: Verdict | None
    error_step: int | None
    error_explanation: str | None
    corrected_solution: str | None
    final_answer: str | None
    verified: bool | None
    response: str
    parse_errors: list[str]


class RefineState(TypedDict, total=False):
    """State of one item moving through its graph.

    begin_round -> detect -> locate -> correct -> verify -> end_round, and the nodes a
    strategy adds.
    """

    item_key: str
    """The item under refinement (set once)."""
    round: int
    """Current round, 1-based; set by ``begin_round`` (the framework's, not a node's)."""
    solution: str
    """The solution reviewed this round: the initial one, then the last correction."""
    verdict: Verdict | None
    """``detect``'s decision on ``solution`` this round (None: could not tell)."""
    error_step: int | None
    """``locate``: the first erroneous step number."""
    error_explanation: str | None
    """``locate``: why that step is wrong."""
    corrected_solution: str | None
    """``correct``: the solution rewritten from the erroneous step on."""
    final_answer: str | None
    """The final answer after this round."""
    verified: bool | None
    """``verify``: whether the round's outcome was confirmed (ends the loop when True)."""
    response: str
    """The text a judge reads for this round (the official 'prediction')."""
    scratch: dict[str, Any]
    """Strategy-private values for this round (e.g. the raw answer to parse); cleared by
    ``begin_round``."""
    carry: Any
    """What the previous round handed on (``carry_next``), of the strategy's ``carry_type``;
    set by ``begin_round`` only (None in round 1)."""
    carry_next: Any
    """Set by a node to hand a typed value to the next round; ``begin_round`` moves it to
    ``carry`` (and clears it)."""
    parse_errors: Annotated[list[str], operator.add]
    """*Appended*: parse problems of every node (recorded, never raised)."""
    rounds: Annotated[list[RoundRecord], operator.add]
    """*Appended*: one record per finished round."""


def reducer_of(annotation: Any) -> Any:
    """The reducer of an ``Annotated[T, reducer]`` state field (None: overwritten)."""
    metadata = getattr(annotation, "__metadata__", ())
    return metadata[-1] if metadata and callable(metadata[-1]) else None


def state_schema(strategy_state: Any) -> dict[str, Any]:
    """The fields of a strategy's ``state_type`` (with their annotations), checked.

    A strategy's state type is a TypedDict that extends :class:`RefineState` with its own
    fields; anything else is refused naming what is missing.
    """
    from typing import get_type_hints

    from mmrefine_agent.errors import PluginError

    try:
        hints = get_type_hints(strategy_state, include_extras=True)
    except Exception as exc:  # plugin code: an annotation that does not resolve
        raise PluginError(f"state_type {strategy_state!r}: {type(exc).__name__}: {exc}") from exc
    missing = sorted(set(get_type_hints(RefineState)) - set(hints))
    if missing:
        raise PluginError(
            f"state_type {getattr(strategy_state, '__name__', strategy_state)} must extend "
            f"RefineState (missing: {', '.join(missing)})"
        )
    return hints


def round_resets(hints: dict[str, Any]) -> dict[str, Any]:
    """What ``begin_round`` writes to a strategy's own fields: each round starts them empty.

    A field with a reducer is written past it (LangGraph's ``Overwrite``) with an empty
    value of its type (``[]``, ``{}``, ...); a plain field is set to None.
    """
    from typing import get_args, get_origin

    own = {name: hint for name, hint in hints.items() if name not in _BASE_FIELDS}
    if not own:
        return {}
    from langgraph.types import Overwrite

    resets: dict[str, Any] = {}
    for name, hint in own.items():
        if reducer_of(hint) is None:
            resets[name] = None
            continue
        base = get_args(hint)[0] if get_args(hint) else hint
        kind = get_origin(base) or base
        resets[name] = Overwrite(kind() if kind in (list, dict, set, tuple) else None)
    return resets


_BASE_FIELDS = frozenset(RefineState.__annotations__)
