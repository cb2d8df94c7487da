"""Detection, localisation and correction of two runs on the same items, paired (``compare``).

The step metrics of :mod:`mmrefine_agent.analysis.step_metrics` (detection precision, recall
and F1; localisation as ProcessBench reports it: the erroneous and the correct half and their
harmonic mean; correction: final answer accuracy) for run A and run B on the items both
refined, and B - A with 95% intervals from one bootstrap over problems that resamples both
runs together, the way the scenario differences and the round correction are paired.

Which step is the reference depends on the dataset: a step dataset labels the first wrong step;
for MMRefine it is the first step its reference feedback names (:func:`reference_words`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmrefine_agent.analysis.step_metrics import (
    COLUMNS,
    CORRECTION,
    DETECTION,
    LOCALISATION,
    RATES,
    indicators,
    rates_from_totals,
)
from mmrefine_agent.analysis.step_outcomes import StepOutcome, paired_table, rates_with_intervals
from mmrefine_agent.types import Item

GROUPS = {"detection": DETECTION, "localisation": LOCALISATION, "correction": CORRECTION}


def reference_words(items: Mapping[str, Item]) -> str:
    """What "the reference step" is for these items, in words (for tables and pages)."""
    labelled = any(i.first_wrong_step is not None or i.steps for i in items.values())
    if labelled:
        return "the labelled first wrong step"
    return "the step the reference feedback names"


def _paired_rates(t: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run in ("a", "b"):
        rates = rates_from_totals({c: t[f"{run}:{c}"] for c in COLUMNS})
        out.update({f"{run}:{name}": value for name, value in rates.items()})
    for name in RATES:
        out[f"diff:{name}"] = out[f"b:{name}"] - out[f"a:{name}"]
    return out


def paired_step_metrics(
    a: Sequence[StepOutcome],
    b: Sequence[StepOutcome],
    *,
    reference: str = "",
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any] | None:
    """A, B and B - A per step metric on the items both runs refined (None: none shared).

    Returns ``n_shared``, ``reference`` (what the reference step is), ``groups`` (detection,
    localisation, correction -> metric names) and ``metrics``: per metric ``a``, ``b``,
    ``diff`` (fractions; None when undefined) and their ``a_ci95``, ``b_ci95``, ``ci95``.
    """
    import numpy as np

    by_key = {o.key: o for o in b}
    pairs = [(x, by_key[x.key]) for x in a if x.key in by_key]
    if not pairs:
        return None
    columns = (*(f"a:{c}" for c in COLUMNS), *(f"b:{c}" for c in COLUMNS))
    rows = []
    for x, y in pairs:
        ix, iy = indicators(x), indicators(y)
        rows.append([*(ix[c] for c in COLUMNS), *(iy[c] for c in COLUMNS)])
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
    rates, ci95 = rates_with_intervals(
        [x.problem for x, _ in pairs], columns, values, _paired_rates,
        resamples=resamples, seed=seed,
    )  # fmt: skip
    metrics = paired_table(rates, ci95, RATES)
    return {
        "n_shared": len(pairs),
        "reference": reference,
        "groups": {group: list(names) for group, names in GROUPS.items()},
        "metrics": metrics,
    }
