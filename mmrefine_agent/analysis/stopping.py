"""Why an item stopped refining: verified, the ``max_rounds`` limit, or the strategy's route.

Read back from the result record (its rounds and their ``verified`` flags) and the run's
``strategy.max_rounds``: the framework ends an item when ``route_after_verify`` says
``"end"`` (by default: when the round's verify step confirmed the solution) or when
``max_rounds`` rounds have run, whatever the route says.
"""

from __future__ import annotations

from mmrefine_agent.records.outcomes import ItemResult

STOP_KINDS = ("verified", "max_rounds", "route", "failed")


def stop_reason(result: ItemResult, max_rounds: int | None) -> tuple[str, str]:
    """``(kind, sentence)``: kind is one of STOP_KINDS, the sentence says it for people."""
    if not result.refined or not result.rounds:
        return "failed", f"did not finish: {result.status}"
    last = max(result.rounds, key=lambda entry: entry.round)
    rounds = max(result.n_rounds, last.round)
    if last.verified is True:
        return "verified", f"verified: round {rounds}'s verify step accepted the round's result"
    if max_rounds is not None and rounds >= max_rounds:
        return "max_rounds", (
            f"max_rounds: the limit of {max_rounds} round(s) was reached "
            f"(the last round was {'not verified' if last.verified is False else 'not checked'})"
        )
    return "route", (
        f"the strategy's route: it ended the item after round {rounds} of at most "
        f"{max_rounds if max_rounds is not None else '?'} (route_after_verify returned 'end')"
    )
