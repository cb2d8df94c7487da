"""Scores exactly as the official evaluator computes them, plus breakdowns and intervals.

Rates (cumulative, official): over incorrect items RF = RF/n, ED = (ED+EC+RS)/n,
EC = (EC+RS)/n, RS = RS/n; over correct items VS = VS/n, FD = FD/n.
RefScore = RS - FD; mRecall = (ED + VS) / 2. A class with no items gives None for its rates
(and for the scores that need them). Items whose judgment is ``judge_error`` are counted
and reported, and left out of the denominators (the official script would crash on them).
95% intervals come from a bootstrap that resamples problems (a problem's four solutions
move together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mmrefine_agent.judging.scenarios import EC, ED, FD, JUDGE_ERROR, RF, RS, SCENARIOS, VS
from mmrefine_agent.records.models import ItemResult, ScoreBlock, Scores

COUNT_KEYS = (*SCENARIOS, JUDGE_ERROR)
BREAKDOWNS = {"error_type": "error_type", "solution_source": "source", "modality": "modality"}
METRICS = ("RF", "ED", "EC", "RS", "VS", "FD", "RefScore", "mRecall", "RS/ED", "EC/ED")


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def rates_from_counts(counts: dict[str, int]) -> dict[str, float | None]:
    """The official cumulative rates, RefScore, mRecall, RS/ED and EC/ED from scenario counts."""
    n_inc = counts.get(RF, 0) + counts.get(ED, 0) + counts.get(EC, 0) + counts.get(RS, 0)
    n_cor = counts.get(VS, 0) + counts.get(FD, 0)
    rs = _div(counts.get(RS, 0), n_inc)
    ec = _div(counts.get(EC, 0) + counts.get(RS, 0), n_inc)
    ed = _div(counts.get(ED, 0) + counts.get(EC, 0) + counts.get(RS, 0), n_inc)
    rf = _div(counts.get(RF, 0), n_inc)
    vs = _div(counts.get(VS, 0), n_cor)
    fd = _div(counts.get(FD, 0), n_cor)
    out: dict[str, float | None] = {"RF": rf, "ED": ed, "EC": ec, "RS": rs, "VS": vs, "FD": fd}
    out["RefScore"] = rs - fd if rs is not None and fd is not None else None
    out["mRecall"] = (ed + vs) / 2 if ed is not None and vs is not None else None
    out["RS/ED"] = rs / ed if rs is not None and ed else None
    out["EC/ED"] = ec / ed if ec is not None and ed else None
    return out


def count_scenarios(scenarios: Iterable[str]) -> dict[str, int]:
    """Counts per scenario code (plus judge_error)."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for scenario in scenarios:
        if scenario in counts:
            counts[scenario] += 1
    return counts


def _rates_matrix(totals: Any) -> dict[str, Any]:
    """``rates_from_counts`` for many count vectors at once (rows of ``totals``; NaN: undefined)."""
    import numpy as np

    column = {key: totals[:, i].astype(float) for i, key in enumerate(COUNT_KEYS)}
    n_inc = column[RF] + column[ED] + column[EC] + column[RS]
    n_cor = column[VS] + column[FD]
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(n_inc > 0, 1.0 / np.where(n_inc > 0, n_inc, 1.0), np.nan)
        cor = np.where(n_cor > 0, 1.0 / np.where(n_cor > 0, n_cor, 1.0), np.nan)
        out = {
            "RF": column[RF] * inc,
            "ED": (column[ED] + column[EC] + column[RS]) * inc,
            "EC": (column[EC] + column[RS]) * inc,
            "RS": column[RS] * inc,
            "VS": column[VS] * cor,
            "FD": column[FD] * cor,
        }
        out["RefScore"] = out["RS"] - out["FD"]
        out["mRecall"] = (out["ED"] + out["VS"]) / 2
        ed = np.where(out["ED"] > 0, out["ED"], np.nan)
        out["RS/ED"] = out["RS"] / ed
        out["EC/ED"] = out["EC"] / ed
    return out


def percentile_interval(values: Any, resamples: int) -> list[float] | None:
    """The 2.5% and 97.5% order statistics of the defined values (None if too few)."""
    import numpy as np

    defined = np.sort(values[~np.isnan(values)])
    if len(defined) == 0 or len(defined) < resamples // 2:
        return None
    lo = float(defined[int(0.025 * (len(defined) - 1))])
    hi = float(defined[round(0.975 * (len(defined) - 1))])
    return [round(lo, 6), round(hi, 6)]


def _problem_counts(problems: Sequence[str], scenario_lists: Sequence[Sequence[str]]) -> Any:
    """Per problem and per scenario list: counts of each scenario (problems x lists x keys)."""
    import numpy as np

    # problems in sorted order: the resamples do not depend on the order records finished in
    index = {problem: i for i, problem in enumerate(sorted(set(problems)))}
    counts = np.zeros((len(index), len(scenario_lists), len(COUNT_KEYS)), dtype=np.int64)
    position = {key: i for i, key in enumerate(COUNT_KEYS)}
    for side, scenarios in enumerate(scenario_lists):
        for problem, scenario in zip(problems, scenarios, strict=True):
            if scenario in position:
                counts[index[problem], side, position[scenario]] += 1
    return counts


def _resample_totals(counts: Any, resamples: int, seed: int) -> Any:
    """Scenario totals of ``resamples`` bootstrap samples of problems (resamples x lists x keys)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = counts.shape[0]
    picks = rng.integers(0, n, size=(resamples, n))
    # how often each problem was drawn, times its counts: one matrix product per list
    drawn = np.zeros((resamples, n), dtype=np.int64)
    np.add.at(drawn, (np.arange(resamples)[:, None], picks), 1)
    return np.einsum("rp,psk->rsk", drawn, counts)


def bootstrap_intervals(
    problems: Sequence[str], scenarios: Sequence[str], *, resamples: int = 1000, seed: int = 0
) -> dict[str, list[float] | None]:
    """95% percentile intervals for every metric, resampling problems with replacement."""
    counts = _problem_counts(problems, [scenarios])
    if counts.shape[0] < 2 or resamples <= 0:
        return dict.fromkeys(METRICS)
    totals = _resample_totals(counts, resamples, seed)[:, 0, :]
    rates = _rates_matrix(totals)
    return {metric: percentile_interval(rates[metric], resamples) for metric in METRICS}


def paired_bootstrap(
    problems: Sequence[str],
    scenarios_a: Sequence[str],
    scenarios_b: Sequence[str],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Differences B - A on the same items, with 95% intervals from one shared resampling.

    Problems are resampled with replacement and both runs are scored on the same resample, so
    the interval reflects the paired design. Returns per metric: ``a``, ``b``, ``diff``,
    ``ci95`` (or None), and ``p_le_0`` (the share of resamples where B - A <= 0).
    """
    import numpy as np

    counts = _problem_counts(problems, [scenarios_a, scenarios_b])
    full = counts.sum(axis=0)
    full_a = rates_from_counts(dict(zip(COUNT_KEYS, map(int, full[0]), strict=True)))
    full_b = rates_from_counts(dict(zip(COUNT_KEYS, map(int, full[1]), strict=True)))
    diffs: dict[str, Any] = {}
    if counts.shape[0] >= 2 and resamples > 0:
        totals = _resample_totals(counts, resamples, seed)
        rates_a, rates_b = _rates_matrix(totals[:, 0, :]), _rates_matrix(totals[:, 1, :])
        diffs = {metric: rates_b[metric] - rates_a[metric] for metric in METRICS}
    out: dict[str, dict[str, Any]] = {}
    for metric in METRICS:
        a, b = full_a[metric], full_b[metric]
        values = diffs.get(metric)
        defined = values[~np.isnan(values)] if values is not None else np.array([])
        out[metric] = {
            "a": a,
            "b": b,
            "diff": None if a is None or b is None else round(b - a, 6),
            "ci95": percentile_interval(values, resamples) if values is not None else None,
            "p_le_0": round(float(np.mean(defined <= 0)), 4) if len(defined) else None,
        }
    return out


def score_block(
    records: Sequence[ItemResult],
    scenario_of: Callable[[ItemResult], str | None],
    *,
    resamples: int,
    seed: int,
) -> ScoreBlock:
    """Counts, rates and intervals for a set of result records."""
    pairs = [(r.id, s) for r in records if (s := scenario_of(r)) is not None]
    counts = count_scenarios(s for _, s in pairs)
    counts["n_correct"] = counts[VS] + counts[FD]
    counts["n_incorrect"] = counts[RF] + counts[ED] + counts[EC] + counts[RS]
    scored = [(p, s) for p, s in pairs if s != JUDGE_ERROR]
    return ScoreBlock(
        n=len(pairs),
        counts=counts,
        rates=rates_from_counts(counts),
        ci95=bootstrap_intervals(
            [p for p, _ in scored], [s for _, s in scored], resamples=resamples, seed=seed
        ),
    )


def final_scenario(record: ItemResult) -> str | None:
    """The judged scenario of an item's final output (None: not judged / failed item)."""
    return record.judgment.scenario if record.judgment is not None else None


def max_judged_round(results: Sequence[ItemResult]) -> int:
    """The last round any item has a judgment for (0: no per-round judgments)."""
    return max((e.round for r in results for e in r.round_judgments), default=0)


def round_scenario(record: ItemResult, round_number: int) -> str | None:
    """The scenario after ``round_number`` (an item settled earlier keeps its last one)."""
    chosen = None
    for entry in record.round_judgments:
        if entry.round <= round_number:
            chosen = entry.scenario
    return chosen


def compute_scores(
    results: Sequence[ItemResult], *, resamples: int = 1000, seed: int = 0
) -> Scores:
    """``scores.json``: overall, by error type, solution source, modality and round."""
    refined = [r for r in results if r.refined]
    judged = [r for r in refined if final_scenario(r) is not None]
    judges = sorted({r.judgment.judge for r in judged if r.judgment is not None})
    scores = Scores(
        judge=judges[0] if len(judges) == 1 else judges,
        is_proxy=any(r.judgment is not None and r.judgment.is_proxy for r in judged),
        n_items=len(results),
        n_judged=len(judged),
        n_failed_items=len(results) - len(refined),
        judge_errors=sum(1 for r in judged if final_scenario(r) == JUDGE_ERROR),
        not_seen_images=sum(1 for r in refined if r.image_not_seen),
        note="judge_error items are excluded from rate denominators and counted here",
    )
    scores.overall = score_block(judged, final_scenario, resamples=resamples, seed=seed)
    by: dict[str, dict[str, ScoreBlock]] = {}
    for name, attribute in BREAKDOWNS.items():
        groups: dict[str, list[ItemResult]] = {}
        for record in judged:
            groups.setdefault(str(getattr(record, attribute) or "-"), []).append(record)
        by[name] = {
            key: score_block(group, final_scenario, resamples=resamples // 2, seed=seed)
            for key, group in sorted(groups.items())
        }
    by["round"] = {}
    for number in range(1, max_judged_round(judged) + 1):

        def after_round(record: ItemResult, n: int = number) -> str | None:
            return round_scenario(record, n)

        by["round"][str(number)] = score_block(
            judged, after_round, resamples=resamples // 2, seed=seed
        )
    scores.by = by
    return scores
