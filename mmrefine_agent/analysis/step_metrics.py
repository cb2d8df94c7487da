"""Step metrics for every dataset: detection, localisation and correction, by category.

From the result records and the dataset's items (see :mod:`.step_outcomes` for which rounds
count), per set of items:

- **detection** (the verdict on the given solution vs its label; "positive" = incorrect):
  ``detection_accuracy`` (a missing verdict counts as wrong), ``precision`` and ``recall`` of
  saying Incorrect, their ``f1``; counts per class (``incorrect/said_correct``, ...).
- **localisation**, as ProcessBench reports it: ``erroneous_accuracy`` = share of incorrect
  solutions with a labelled first wrong step whose flagged step is exactly that step (1-based);
  ``correct_accuracy`` = share of correct solutions the model said had no error;
  ``localisation_f1`` = their harmonic mean. For MMRefine the reference step is the first
  "step N" of the reference feedback (incorrect items without one are counted apart).
- **correction** (items with a gold answer; final answer after the last round, compared by
  :func:`~mmrefine_agent.judging.answers.answers_match`): ``answer_accuracy``, and the same on
  incorrect and on correct initial solutions.

95% intervals come from a bootstrap over problems (items sharing a problem id move together).
MMRefine's six scenarios, RefScore and mRecall are computed elsewhere and unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mmrefine_agent.analysis.step_outcomes import (
    StepOutcome,
    harmonic,
    rates_with_intervals,
    ratio,
    step_outcomes,
)
from mmrefine_agent.records.step_scores import StepScoreBlock, StepScores
from mmrefine_agent.types import Item

COLUMNS = (
    "n_correct", "n_incorrect", "tp", "fp", "tn", "fn", "no_verdict",
    "loc_n_erroneous", "loc_hits_erroneous", "loc_n_correct", "loc_hits_correct",
    "n_gold", "answers_right", "n_gold_incorrect", "answers_right_incorrect",
    "n_gold_correct", "answers_right_correct",
)  # fmt: skip
DETECTION = ("detection_accuracy", "precision", "recall", "f1")
LOCALISATION = ("erroneous_accuracy", "correct_accuracy", "localisation_f1")
CORRECTION = ("answer_accuracy", "answer_accuracy_incorrect", "answer_accuracy_correct")
RATES = (*DETECTION, *LOCALISATION, *CORRECTION)


def indicators(outcome: StepOutcome) -> dict[str, int]:
    """The 0/1 (or count) columns one item contributes to the totals."""
    incorrect = outcome.label == "incorrect"
    said = outcome.verdict
    located = incorrect and outcome.reference_step is not None
    gold = outcome.has_gold
    return {
        "n_correct": int(not incorrect),
        "n_incorrect": int(incorrect),
        "tp": int(incorrect and said == "incorrect"),
        "fp": int(not incorrect and said == "incorrect"),
        "tn": int(not incorrect and said == "correct"),
        "fn": int(incorrect and said == "correct"),
        "no_verdict": int(said is None),
        "loc_n_erroneous": int(located),
        "loc_hits_erroneous": int(
            located and said == "incorrect" and outcome.flagged_step == outcome.reference_step
        ),
        "loc_n_correct": int(not incorrect),
        "loc_hits_correct": int(not incorrect and said == "correct"),
        "n_gold": int(gold),
        "answers_right": int(gold and outcome.final_right),
        "n_gold_incorrect": int(gold and incorrect),
        "answers_right_incorrect": int(gold and incorrect and outcome.final_right),
        "n_gold_correct": int(gold and not incorrect),
        "answers_right_correct": int(gold and not incorrect and outcome.final_right),
    }


def rates_from_totals(t: dict[str, Any]) -> dict[str, Any]:
    """Every rate from column totals (numpy arrays: one value, or one per resample)."""
    out: dict[str, Any] = {
        "detection_accuracy": ratio(t["tp"] + t["tn"], t["n_correct"] + t["n_incorrect"]),
        "precision": ratio(t["tp"], t["tp"] + t["fp"]),
        "recall": ratio(t["tp"], t["n_incorrect"]),
        "erroneous_accuracy": ratio(t["loc_hits_erroneous"], t["loc_n_erroneous"]),
        "correct_accuracy": ratio(t["loc_hits_correct"], t["loc_n_correct"]),
        "answer_accuracy": ratio(t["answers_right"], t["n_gold"]),
        "answer_accuracy_incorrect": ratio(t["answers_right_incorrect"], t["n_gold_incorrect"]),
        "answer_accuracy_correct": ratio(t["answers_right_correct"], t["n_gold_correct"]),
    }
    out["f1"] = harmonic(out["precision"], out["recall"])
    out["localisation_f1"] = harmonic(out["erroneous_accuracy"], out["correct_accuracy"])
    return {name: out[name] for name in RATES}


def score_outcomes(
    outcomes: Sequence[StepOutcome], *, resamples: int = 1000, seed: int = 0
) -> StepScoreBlock:
    """Counts, rates and 95% intervals (bootstrap over problems) for a set of items."""
    import numpy as np

    rows = [indicators(o) for o in outcomes]
    values = np.array([[row[c] for c in COLUMNS] for row in rows], dtype=np.float64)
    values = values.reshape(len(rows), len(COLUMNS))
    counts = {c: int(values[:, i].sum()) for i, c in enumerate(COLUMNS)}
    for label in ("correct", "incorrect"):
        mine = [o for o in outcomes if o.label == label]
        for said in ("correct", "incorrect", None):
            name = f"{label}/said_{said or 'nothing'}"
            counts[name] = sum(1 for o in mine if o.verdict == said)
    counts["no_reference_step"] = sum(
        1 for o in outcomes if o.label == "incorrect" and o.reference_step is None
    )
    rates, ci95 = rates_with_intervals(
        [o.problem for o in outcomes],
        COLUMNS,
        values,
        rates_from_totals,
        resamples=resamples,
        seed=seed,
    )
    return StepScoreBlock(n=len(outcomes), counts=counts, rates=rates, ci95=ci95)


def step_scores(
    results: Iterable[Any],
    items: Mapping[str, Item],
    *,
    resamples: int = 1000,
    seed: int = 0,
    outcomes: Sequence[StepOutcome] | None = None,
) -> StepScores:
    """``scores.json`` ``step_metrics``: overall and per category."""
    if outcomes is None:
        outcomes = step_outcomes(results, items)
    datasets = sorted({items[o.key].dataset for o in outcomes if o.key in items})
    groups: dict[str, list[StepOutcome]] = {}
    for outcome in outcomes:
        if outcome.category is not None:
            groups.setdefault(outcome.category, []).append(outcome)
    notes = ["localisation and detection read the rounds that reviewed the given solution"]
    if not any(o.has_gold for o in outcomes):
        notes.append("no gold answers: correction is undefined")
    return StepScores(
        dataset=datasets[0] if len(datasets) == 1 else datasets,
        note="; ".join(notes),
        overall=score_outcomes(outcomes, resamples=resamples, seed=seed),
        by_category={
            name: score_outcomes(group, resamples=resamples // 2, seed=seed)
            for name, group in sorted(groups.items())
        },
    )
