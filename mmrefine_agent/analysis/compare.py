"""``mmrefine compare``: runs side by side, paired differences, and items that changed scenario.

The first run is the baseline. Differences are computed on the items both runs judged (same
item key), with one shared bootstrap over problems, so "B - A" intervals are paired. The step
metrics (detection precision/recall/F1, localisation's two halves and their harmonic mean,
answer correction) are paired the same way, for MMRefine and for step datasets. When a run
took more than one round, the per-round answer correction (SCoRe-style) is paired too.

A run whose strategy read the gold answer or label (``uses_gold`` in its scores) is not
comparable with the paper protocol: it is put apart (listed, not compared, never the
baseline) unless ``include_gold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmrefine_agent.analysis.metrics import final_scenario, paired_bootstrap
from mmrefine_agent.analysis.round_compare import paired_round_correction
from mmrefine_agent.analysis.step_compare import paired_step_metrics
from mmrefine_agent.errors import RunDirError
from mmrefine_agent.judging.scenarios import JUDGE_ERROR, SCENARIOS
from mmrefine_agent.records.models import ScoreBlock, Scores, UsageDoc
from mmrefine_agent.records.rundir import RunDir


def run_label(path: Path, others: list[Path]) -> str:
    """A short, unique label: the directory name, or parent/name when names collide."""
    if sum(1 for p in others if p.name == path.name) == 1:
        return path.name
    return f"{path.parent.name}/{path.name}"


def load_run(path: Path) -> dict[str, Any]:
    """Scores, usage and judged scenarios of one run directory."""
    run = RunDir(path).require()
    scores = run.scores()
    if not scores.judged:
        raise RunDirError(f"{path}: not judged yet (run `mmrefine judge {path}`)")
    usage = run.usage() or scores.usage or UsageDoc()
    scenarios: dict[str, tuple[str, str]] = {}
    for record in run.results():
        scenario = final_scenario(record) if record.refined else None
        if scenario is not None:
            scenarios[record.key] = (record.id, scenario)
    return {
        "path": str(path),
        "scores": scores,
        "usage": usage,
        "scenarios": scenarios,
        "multi_round": scores.round_correction is not None,
    }


def round_outcomes(path: Path, plugins: Sequence[str] = ()) -> tuple[list[Any], str]:
    """The per-item step outcomes of a run and what its reference step is, in words.

    The run's dataset items give the labels, the reference steps and the gold answers.
    """
    from mmrefine_agent.analysis.step_compare import reference_words
    from mmrefine_agent.analysis.step_outcomes import step_outcomes
    from mmrefine_agent.run_view import open_run

    view = open_run(path, plugins)
    items = view.items
    return step_outcomes(view.results, items), reference_words(items)


def paired(base: dict[str, Any], other: dict[str, Any], changed_limit: int) -> dict[str, Any]:
    """B - A on shared judged items: metric differences, the transition matrix, changed items."""
    shared = [
        key
        for key in base["scenarios"]
        if key in other["scenarios"]
        and base["scenarios"][key][1] != JUDGE_ERROR
        and other["scenarios"][key][1] != JUDGE_ERROR
    ]
    problems = [base["scenarios"][k][0] for k in shared]
    a = [base["scenarios"][k][1] for k in shared]
    b = [other["scenarios"][k][1] for k in shared]
    matrix = {s: dict.fromkeys(SCENARIOS, 0) for s in SCENARIOS}
    changed: list[dict[str, str]] = []
    for key, sa, sb in zip(shared, a, b, strict=True):
        matrix[sa][sb] += 1
        if sa != sb:
            changed.append({"key": key, "from": sa, "to": sb})
    return {
        "n_shared": len(shared),
        "only_in_a": len(set(base["scenarios"]) - set(other["scenarios"])),
        "only_in_b": len(set(other["scenarios"]) - set(base["scenarios"])),
        "differences": paired_bootstrap(problems, a, b),
        "transitions": matrix,
        "n_changed": len(changed),
        "changed": changed[:changed_limit],
    }


def run_row(label: str, run: dict[str, Any]) -> dict[str, Any]:
    """One run's line of the comparison: its headline rates, usage and error-type rates."""
    scores: Scores = run["scores"]
    overall = scores.overall or ScoreBlock()
    usage = run["usage"].combined()
    return {
        "label": label,
        "path": run["path"],
        "judge": scores.judge,
        "is_proxy": scores.is_proxy,
        "uses_gold": scores.uses_gold,
        "n_judged": scores.n_judged,
        "rates": overall.rates,
        "ci95": overall.ci95,
        "usage": {
            "calls": usage.calls,
            "cache_hits": usage.cache_hits,
            "tokens": usage.tokens,
            "cost_usd": usage.cost_usd,
        },
        "by_error_type": {
            name: block.rates for name, block in (scores.by.get("error_type") or {}).items()
        },
    }


def compare_runs(
    paths: list[Path],
    *,
    changed_limit: int = 20,
    include_gold: bool = False,
    plugins: Sequence[str] = (),
) -> dict[str, Any]:
    """The whole comparison (what ``compare --json`` prints and the table renders).

    Runs that used the gold answer or label go to ``apart`` unless ``include_gold``. The
    plugin modules each run was made with (and ``plugins``) are loaded and checked.
    """
    from mmrefine_agent.run_view import open_run

    for path in paths:
        open_run(path, plugins).plugins  # noqa: B018 - a PluginError if one changed
    if len(paths) < 2:
        raise RunDirError("compare needs at least two run directories")
    loaded = [load_run(path) for path in paths]
    all_labels = [run_label(path, paths) for path in paths]
    kept = [
        (label, run, path)
        for label, run, path in zip(all_labels, loaded, paths, strict=True)
        if include_gold or not run["scores"].uses_gold
    ]
    apart = [
        run_row(label, run)
        for label, run in zip(all_labels, loaded, strict=True)
        if not include_gold and run["scores"].uses_gold
    ]
    labels = [label for label, _, _ in kept]
    runs = [run for _, run, _ in kept]
    out: dict[str, Any] = {
        "version": 1,
        "baseline": labels[0] if labels else None,
        "runs": [run_row(label, run) for label, run in zip(labels, runs, strict=True)],
        "apart": apart,
        "include_gold": include_gold,
    }
    multi = any(run["multi_round"] for run in runs)
    read = [round_outcomes(path, plugins) for _, _, path in kept]
    outcomes = [o for o, _ in read]
    out["paired"] = [
        {
            "a": labels[0],
            "b": label,
            **paired(runs[0], run, changed_limit),
            "step_metrics": paired_step_metrics(outcomes[0], outcomes[i], reference=read[0][1]),
            "round_correction": (
                paired_round_correction(outcomes[0], outcomes[i]) if multi else None
            ),
        }
        for i, (label, run) in enumerate(zip(labels, runs, strict=True))
        if i > 0
    ]
    judges = {str(r["judge"]) for r in out["runs"]}
    out["warnings"] = (
        [f"the runs were judged by different judges ({', '.join(sorted(judges))})"]
        if len(judges) > 1
        else []
    )
    if apart:
        out["warnings"].append(
            f"put apart (their strategy used the gold answer or label, not comparable with the "
            f"paper protocol): {', '.join(r['label'] for r in apart)}; --include-gold compares "
            "them too"
        )
    if include_gold and any(r["uses_gold"] for r in out["runs"]):
        out["warnings"].append(
            "compared with --include-gold: runs marked 'uses gold' read the gold answer or "
            "label while refining"
        )
    return out
