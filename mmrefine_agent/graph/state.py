"""The typed state that flows through the refinement graph.

Every field is overwritten by the node that returns it, except those marked *appended*,
which use a list-concatenation reducer so each round adds to the history.
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
