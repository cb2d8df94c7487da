"""Per-round correction metrics of multi-round runs, as SCoRe (Kumar et al. 2024) reports them.

Over the items with a gold answer: ``accuracy_t1`` (the final answer after round 1 matches
the gold answer), ``accuracy_last`` (after the item's last round), ``delta`` = last - t1, and
the shares of items that went ``incorrect_to_correct`` and ``correct_to_incorrect`` between
round 1 and the last round (both over all these items, so delta = i->c - c->i). An item that
stopped early keeps its last answer in later rounds (``accuracy_by_round``). 95% intervals come
from a bootstrap over problems. Computed only when some item ran more than one round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mmrefine_agent.analysis.step_metrics import step_scores
from mmrefine_agent.analysis.step_outcomes import (
    StepOutcome,
    rates_with_intervals,
    ratio,
    step_outcomes,
)
from mmrefine_agent.records.step_scores import RoundCorrection, StepScores
from mmrefine_agent.types import Item

COLUMNS = ("n", "right_t1", "right_last", "incorrect_to_correct", "correct_to_incorrect")
RATES = ("accuracy_t1", "accuracy_last", "delta", "incorrect_to_correct", "correct_to_incorrect")


def _rates(t: dict[str, Any]) -> dict[str, Any]:
    first, last = ratio(t["right_t1"], t["n"]), ratio(t["right_last"], t["n"])
    return {
        "accuracy_t1": first,
        "accuracy_last": last,
        "delta": last - first,
        "incorrect_to_correct": ratio(t["incorrect_to_correct"], t["n"]),
        "correct_to_incorrect": ratio(t["correct_to_incorrect"], t["n"]),
    }


def after_round(outcome: StepOutcome, number: int) -> bool:
    """Whether the answer after round ``number`` is right (a settled item keeps its last)."""
    answers = outcome.answers_right
    return bool(answers) and answers[min(number, len(answers)) - 1]


def round_correction(
    results: Iterable[Any],
    items: Mapping[str, Item],
    *,
    resamples: int = 1000,
    seed: int = 0,
    outcomes: Sequence[StepOutcome] | None = None,
) -> RoundCorrection | None:
    """``scores.json`` ``round_correction`` (None for a run where every item had one round)."""
    import numpy as np

    if outcomes is None:
        outcomes = step_outcomes(results, items)
    rounds = max((o.n_rounds for o in outcomes), default=0)
    if rounds <= 1:
        return None
    scored = [o for o in outcomes if o.has_gold]
    if not scored:
        return RoundCorrection(rounds=rounds, note="no item has a gold answer")
    rows = [
        (1, after_round(o, 1), o.final_right, not after_round(o, 1) and o.final_right,
         after_round(o, 1) and not o.final_right)
        for o in scored
    ]  # fmt: skip
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(COLUMNS))
    rates, ci95 = rates_with_intervals(
        [o.problem for o in scored], COLUMNS, values, _rates, resamples=resamples, seed=seed
    )
    by_round = {
        str(n): round(sum(after_round(o, n) for o in scored) / len(scored), 6)
        for n in range(1, rounds + 1)
    }
    return RoundCorrection(
        n=len(scored),
        rounds=rounds,
        counts={c: int(values[:, i].sum()) for i, c in enumerate(COLUMNS)},
        rates=rates,
        ci95=ci95,
        accuracy_by_round=by_round,
        note="final answers vs the gold answer (answers_match); items without one left out",
    )


def step_and_round_scores(
    results: Iterable[Any],
    items: Mapping[str, Item],
    *,
    seed: int = 0,
    matcher: Callable[[str | None, str, Sequence[str]], bool] | None = None,
) -> tuple[StepScores, RoundCorrection | None]:
    """Both blocks of ``scores.json`` from one pass over the results (answers checked once).

    ``matcher`` decides whether a final answer matches the gold one (default: answers_match).
    """
    outcomes = (
        step_outcomes(results, items)
        if matcher is None
        else step_outcomes(results, items, matcher=matcher)
    )
    return (
        step_scores(results, items, seed=seed, outcomes=outcomes),
        round_correction(results, items, seed=seed, outcomes=outcomes),
    )
