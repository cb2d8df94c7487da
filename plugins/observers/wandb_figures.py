"""What the ``wandb`` observer logs, as plain data (no wandb import here).

Key names: ``scores/RefScore`` with ``scores/RefScore_ci95_low`` and ``_ci95_high`` beside it,
``step_metrics/...`` and ``round_correction/...`` the same way, ``usage/...``, per-round
figures ``per_round/...`` against the x axis ``round``, progress ``progress/...``. A ``/`` in a
metric's own name (``RS/ED``) becomes ``_per_`` so it does not open a new W&B section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mmrefine_agent import ItemResult, RunInfo, Scores, StepEvent, scrub

Figure = float | int | bool | str

ITEM_COLUMNS = [
    "key",
    "error_type",
    "label",
    "scenario_by_round",
    "scenario",
    "tools",
    "failure_kind",
    "status",
    "source",
    "modality",
    "n_rounds",
]
"""The items table: one row per item, ``scenario_by_round`` a list ("-": that round unjudged)."""


def metric_name(name: str) -> str:
    """A metric's name as a W&B key part (``RS/ED`` -> ``RS_per_ED``)."""
    return name.replace("/", "_per_")


def _block(
    prefix: str, rates: Mapping[str, float | None], ci95: Mapping[str, list[float] | None]
) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    for name, value in rates.items():
        if value is None:
            continue
        key = f"{prefix}/{metric_name(name)}"
        out[key] = value
        interval = ci95.get(name)
        if interval and len(interval) == 2:
            out[f"{key}_ci95_low"], out[f"{key}_ci95_high"] = interval[0], interval[1]
    return out


def summary_figures(scores: Scores) -> dict[str, Figure]:
    """The headline figures of a finished run: rates with intervals, step metrics, usage."""
    out: dict[str, Figure] = {
        "scores/n_items": scores.n_items,
        "scores/n_judged": scores.n_judged,
        "scores/judge_errors": scores.judge_errors,
        "scores/n_failed_items": scores.n_failed_items,
        "scores/is_proxy": scores.is_proxy,
        "scores/uses_gold": scores.uses_gold,
        "scores/complete": scores.completeness.complete,
    }
    if scores.judge:
        out["scores/judge"] = str(scores.judge)
    if scores.overall is not None:
        out.update(_block("scores", scores.overall.rates, scores.overall.ci95))
    if scores.step_metrics is not None:
        overall = scores.step_metrics.overall
        out.update(_block("step_metrics", overall.rates, overall.ci95))
    if scores.round_correction is not None:
        correction = scores.round_correction
        out.update(_block("round_correction", correction.rates, correction.ci95))
    if scores.usage is not None:
        usage = scores.usage.combined()
        out.update(
            {
                "usage/calls": usage.calls,
                "usage/cache_hits": usage.cache_hits,
                "usage/input_tokens": usage.input_tokens,
                "usage/output_tokens": usage.output_tokens,
                "usage/cost_usd": usage.cost_usd,
            }
        )
    return out


def round_series(scores: Scores) -> list[dict[str, Figure]]:
    """Per-round figures, one row per round (``round`` is the x axis).

    The six rates, RefScore and mRecall after each judged round (``scores.json``'s
    ``by.round``, with intervals), and the answer accuracy after each round when the run has
    gold answers (``round_correction.accuracy_by_round``).
    """
    rows: dict[int, dict[str, Figure]] = {}
    for number, block in scores.by.get("round", {}).items():
        if number.isdigit():
            row = rows.setdefault(int(number), {"round": int(number)})
            row.update(_block("per_round", block.rates, block.ci95))
    if scores.round_correction is not None:
        for number, accuracy in scores.round_correction.accuracy_by_round.items():
            if str(number).isdigit() and accuracy is not None:
                row = rows.setdefault(int(number), {"round": int(number)})
                row["per_round/answer_accuracy"] = accuracy
    return [rows[number] for number in sorted(rows)]


def tools_used(steps: Iterable[StepEvent]) -> dict[str, list[str]]:
    """The tools each item's graph ran, by item key (sorted names, each once)."""
    used: dict[str, set[str]] = {}
    for step in steps:
        if step.tool_runs:
            used.setdefault(step.item_key, set()).update(run.name for run in step.tool_runs)
    return {key: sorted(names) for key, names in used.items()}


def scenario_by_round(result: ItemResult) -> list[str]:
    """The judged scenario of each round, ``-`` for a round not judged (final: last round)."""
    n_rounds = max(result.n_rounds, len(result.rounds), 1 if result.judgment else 0)
    scenarios = ["-"] * n_rounds
    for entry in result.round_judgments:
        if 1 <= entry.round <= n_rounds:
            scenarios[entry.round - 1] = entry.scenario
    if result.judgment is not None and n_rounds and scenarios[-1] == "-":
        scenarios[-1] = result.judgment.scenario
    return scenarios


def item_row(result: ItemResult, tools: Sequence[str] = ()) -> list[Any]:
    """One row of the items table, in :data:`ITEM_COLUMNS` order (``tools``: the tools it ran)."""
    failure_kind = None
    if result.failure is not None:
        failure_kind = result.failure.kind
    elif result.status != "ok":
        failure_kind = result.status
    return [
        result.key,
        result.error_type,
        result.label,
        scenario_by_round(result),
        result.scenario,
        list(tools),
        failure_kind,
        result.status,
        result.source,
        result.modality,
        result.n_rounds,
    ]


def wandb_config(run: RunInfo) -> dict[str, Any]:
    """The resolved config as W&B's run config (credentials masked), with the sweep cell."""
    config = run.config.model_dump(mode="json", exclude={"observers"})
    config = scrub(config)
    config["cell"] = {key: scrub(value) for key, value in run.cell.items()}
    config["session"] = run.session
    return dict(config)


def sweep_group(run: RunInfo) -> str | None:
    """The sweep a cell belongs to, else None.

    A cell runs in ``SWEEP_DIR/CELL`` and its config is named ``SWEEP.CELL`` (``SWEEP/CELL``
    before 0.3); without that shape, the sweep directory's name.
    """
    if not run.cell:
        return None
    name, cell = run.config.name, run.run_dir.name
    for separator in (".", "/"):
        if name.endswith(separator + cell) and len(name) > len(separator + cell):
            return name[: -len(separator + cell)]
    return run.run_dir.parent.name


class Progress:
    """Running totals of a session: items done and failed, calls, tokens, cost."""

    def __init__(self) -> None:
        self.items = 0
        self.failed = 0
        self.calls = 0
        self.cache_hits = 0
        self.tokens = 0
        self.cost_usd = 0.0

    def add_item(self, result: ItemResult) -> None:
        """Count a finished item and its refinement calls."""
        self.items += 1
        self.failed += result.status != "ok"
        self.add_calls(result.usage.calls, result.usage.cache_hits, result.usage.tokens,
                       result.usage.cost_usd)  # fmt: skip

    def add_calls(self, calls: int, cache_hits: int, tokens: int, cost_usd: float) -> None:
        """Count model calls (an item's, or one judge call's)."""
        self.calls += calls
        self.cache_hits += cache_hits
        self.tokens += tokens
        self.cost_usd += cost_usd

    def figures(self) -> dict[str, Figure]:
        """The progress figures as logged."""
        return {
            "progress/items_done": self.items,
            "progress/items_failed": self.failed,
            "progress/calls": self.calls,
            "progress/cache_hits": self.cache_hits,
            "progress/tokens": self.tokens,
            "progress/cost_usd": round(self.cost_usd, 6),
        }
