"""What the step and per-round metrics read from a run, extracted in one place.

A result record may be an :class:`~mmrefine_agent.records.models.ItemResult` or the plain dict
of a ``results.jsonl`` line: :func:`field_of` reads either, so the metrics never depend on the
record classes. :func:`step_outcomes` reduces each finished item to a :class:`StepOutcome`.

Which rounds count: the rounds that reviewed the *given* solution (round 1, and later rounds
whose ``reviewed_solution`` is still the initial solution). The item "said incorrect" when one
of them did; its flagged step is the ``error_step`` of the first such round. Later rounds review
a corrected solution, whose step numbers do not refer to the labelled steps.

Also here: the bootstrap by problem (items sharing a problem id move together), in the numpy
style of :mod:`mmrefine_agent.analysis.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmrefine_agent.analysis.metrics import percentile_interval
from mmrefine_agent.graph.parsing import first_step_number
from mmrefine_agent.judging.answers import answers_match
from mmrefine_agent.types import Item

REFINED_STATUSES = ("ok", "judge_error")


def field_of(record: Any, name: str, default: Any = None) -> Any:
    """``record[name]`` for a mapping, ``record.name`` for an object (``default`` if absent)."""
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One finished item, reduced to what the step metrics need."""

    key: str
    problem: str
    category: str | None
    label: str
    reference_step: int | None
    """The labelled first wrong step (1-based); for MMRefine, the step its feedback names."""
    verdict: str | None
    """``incorrect`` if a round reviewing the given solution said so, else ``correct`` if one
    said that, else None (no verdict parsed)."""
    flagged_step: int | None
    has_gold: bool
    answers_right: tuple[bool, ...]
    """Whether the final answer after round 1, 2, ... matches the gold answer (empty: no gold)."""
    n_rounds: int = 1

    @property
    def final_right(self) -> bool:
        """The item's final answer (after its last round) matches the gold answer."""
        return bool(self.answers_right) and self.answers_right[-1]


def reference_step(item: Item) -> int | None:
    """The labelled first wrong step, or (MMRefine) the first "step N" of the feedback."""
    if item.first_wrong_step is not None:
        return item.first_wrong_step
    if item.label == "incorrect" and not item.steps:
        return first_step_number(item.reference_feedback)
    return None


def _review(rounds: Sequence[Any], initial: str) -> tuple[str | None, int | None]:
    verdict: str | None = None
    for entry in rounds:
        reviewed = field_of(entry, "reviewed_solution")
        if field_of(entry, "round", 1) != 1 and reviewed not in (None, initial):
            continue
        said = field_of(entry, "verdict")
        if said == "incorrect":
            return "incorrect", field_of(entry, "error_step")
        if said == "correct":
            verdict = "correct"
    return verdict, None


def step_outcomes(
    results: Iterable[Any],
    items: Mapping[str, Item],
    *,
    matcher: Callable[[str | None, str, Sequence[str]], bool] = answers_match,
) -> list[StepOutcome]:
    """One outcome per refined result whose item is known (failed items are left out)."""
    memo: dict[tuple[str | None, str], bool] = {}

    def right(answer: str | None, item: Item) -> bool:
        if (answer, item.key) not in memo:
            memo[(answer, item.key)] = bool(answer) and matcher(answer, item.answer, item.options)
        return memo[(answer, item.key)]

    out: list[StepOutcome] = []
    for record in results:
        item = items.get(str(field_of(record, "key")))
        rounds = sorted(field_of(record, "rounds") or [], key=lambda e: field_of(e, "round", 1))
        if item is None or field_of(record, "status") not in REFINED_STATUSES or not rounds:
            continue
        verdict, flagged = _review(rounds, item.initial_solution)
        has_gold = bool(item.answer.strip())
        answers = (
            tuple(right(field_of(e, "final_answer"), item) for e in rounds) if has_gold else ()
        )
        out.append(
            StepOutcome(
                key=item.key,
                problem=item.problem,
                category=item.category,
                label=item.label,
                reference_step=reference_step(item),
                verdict=verdict,
                flagged_step=flagged if isinstance(flagged, int) else None,
                has_gold=has_gold,
                answers_right=answers,
                n_rounds=len(rounds),
            )
        )
    return out


def problem_sums(problems: Sequence[str], values: Any) -> Any:
    """Per problem, the column sums of ``values`` (items x columns) -> problems x columns."""
    import numpy as np

    # problems in sorted order: the resamples do not depend on the order records finished in
    index = {problem: i for i, problem in enumerate(sorted(set(problems)))}
    rows = [index[p] for p in problems]
    sums = np.zeros((len(index), values.shape[1]), dtype=np.float64)
    np.add.at(sums, np.array(rows, dtype=np.int64), values)
    return sums


def resampled_sums(sums: Any, resamples: int, seed: int) -> Any:
    """Column totals of ``resamples`` bootstrap samples of problems (resamples x columns)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = sums.shape[0]
    drawn = np.zeros((resamples, n), dtype=np.float64)
    np.add.at(drawn, (np.arange(resamples)[:, None], rng.integers(0, n, size=(resamples, n))), 1)
    return drawn @ sums


def ratio(numerator: Any, denominator: Any) -> Any:
    """Element-wise ``numerator / denominator`` (NaN where the denominator is 0)."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def harmonic(a: Any, b: Any) -> Any:
    """Element-wise harmonic mean of two rates (0 when both are 0, NaN when one is undefined)."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        total = a + b
        return np.where(
            total > 0,
            2 * a * b / np.where(total > 0, total, 1),
            np.where(np.isnan(total), np.nan, 0.0),
        )


def rates_with_intervals(
    problems: Sequence[str],
    columns: Sequence[str],
    values: Any,
    rates: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    resamples: int,
    seed: int,
) -> tuple[dict[str, float | None], dict[str, list[float] | None]]:
    """Point rates from the column totals, and 95% intervals resampling problems."""
    import numpy as np

    totals = values.sum(axis=0, keepdims=True)
    point = rates({c: totals[:, i] for i, c in enumerate(columns)})
    values_out = {
        name: (None if np.isnan(v[0]) else round(float(v[0]), 6)) for name, v in point.items()
    }
    if len(set(problems)) < 2 or resamples <= 0:
        return values_out, dict.fromkeys(point)
    sums = resampled_sums(problem_sums(problems, values), resamples, seed)
    drawn = rates({c: sums[:, i] for i, c in enumerate(columns)})
    return values_out, {name: percentile_interval(v, resamples) for name, v in drawn.items()}


def paired_table(
    rates: Mapping[str, Any], ci95: Mapping[str, Any], names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per metric name: run A's and B's values, their difference, and the three intervals.

    ``rates`` and ``ci95`` are keyed ``a:NAME``, ``b:NAME`` and ``diff:NAME`` (as the paired
    comparisons compute them with :func:`rates_with_intervals`).
    """
    return {
        name: {
            "a": rates[f"a:{name}"],
            "b": rates[f"b:{name}"],
            "diff": rates[f"diff:{name}"],
            "a_ci95": ci95[f"a:{name}"],
            "b_ci95": ci95[f"b:{name}"],
            "ci95": ci95[f"diff:{name}"],
        }
        for name in names
    }
