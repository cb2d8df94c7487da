"""Per-round answer correction of two runs on the same items, paired (for ``mmrefine compare``).

The figures of :mod:`mmrefine_agent.analysis.round_metrics` (SCoRe, Kumar et al. 2024:
accuracy after round 1 and after the last round, their difference, the shares that went
incorrect -> correct and correct -> incorrect) for run A and run B on the items both refined
that have a gold answer, and B - A with 95% intervals from one bootstrap over problems that
resamples both runs together (so the intervals reflect the paired design).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmrefine_agent.analysis.round_metrics import RATES, after_round
from mmrefine_agent.analysis.step_outcomes import (
    StepOutcome,
    paired_table,
    rates_with_intervals,
    ratio,
)

_PER_RUN = ("right_t1", "right_last", "incorrect_to_correct", "correct_to_incorrect")


def _row(outcome: StepOutcome) -> list[float]:
    first, last = after_round(outcome, 1), outcome.final_right
    return [float(first), float(last), float(not first and last), float(first and not last)]


def _rates(t: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run in ("a", "b"):
        n = t["n"]
        first, last = ratio(t[f"{run}_right_t1"], n), ratio(t[f"{run}_right_last"], n)
        out[f"{run}:accuracy_t1"] = first
        out[f"{run}:accuracy_last"] = last
        out[f"{run}:delta"] = last - first
        out[f"{run}:incorrect_to_correct"] = ratio(t[f"{run}_incorrect_to_correct"], n)
        out[f"{run}:correct_to_incorrect"] = ratio(t[f"{run}_correct_to_incorrect"], n)
    for metric in RATES:
        out[f"diff:{metric}"] = out[f"b:{metric}"] - out[f"a:{metric}"]
    return out


def paired_round_correction(
    a: Sequence[StepOutcome],
    b: Sequence[StepOutcome],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any] | None:
    """A, B and B - A per metric on shared gold-answer items (None when none are shared).

    Returns ``n_shared``, ``rounds`` (the most rounds each run took) and ``metrics``: per
    metric ``a``, ``b``, ``diff`` and their ``ci95`` (``a_ci95``, ``b_ci95``, ``ci95``).
    """
    import numpy as np

    by_key = {o.key: o for o in b if o.has_gold}
    pairs = [(o, by_key[o.key]) for o in a if o.has_gold and o.key in by_key]
    if not pairs:
        return None
    columns = ("n", *(f"a_{c}" for c in _PER_RUN), *(f"b_{c}" for c in _PER_RUN))
    values = np.array([[1.0, *_row(x), *_row(y)] for x, y in pairs], dtype=np.float64)
    rates, ci95 = rates_with_intervals(
        [x.problem for x, _ in pairs], columns, values, _rates, resamples=resamples, seed=seed
    )
    metrics = paired_table(rates, ci95, RATES)
    return {
        "n_shared": len(pairs),
        "rounds": {
            "a": max(x.n_rounds for x, _ in pairs),
            "b": max(y.n_rounds for _, y in pairs),
        },
        "metrics": metrics,
    }
