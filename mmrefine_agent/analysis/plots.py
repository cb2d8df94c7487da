"""PNG plots (matplotlib, Agg backend, imported lazily): rounds, error types, sweep cost.

- ``refscore_per_round.png``: RefScore and mRecall after each round (multi-round runs);
- ``scenarios_by_error_type.png``: stacked scenario shares per error type;
- ``cost_vs_refscore.png``: one point per sweep cell (cost in USD, or tokens when no cost
  is known, e.g. local models).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmrefine_agent.judging.scenarios import SCENARIOS
from mmrefine_agent.records.models import CellSummary, Scores

SCENARIO_COLOURS = {
    "FD": "#d62728",
    "VS": "#2ca02c",
    "RF": "#7f7f7f",
    "ED": "#ffbf00",
    "EC": "#1f77b4",
    "RS": "#17becf",
}


def plain(text: str) -> str:
    """Data text shown as is: ``$`` would start matplotlib's mathtext (and can crash it)."""
    return text.replace("$", r"\$")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """Save a figure as PNG via a temporary file and rename (a kill leaves the old plot)."""
    fig.tight_layout()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        _pyplot().close(fig)
    return path


def plot_rounds(scores: Scores, path: Path) -> Path | None:
    """RefScore and mRecall after each round; None when the run has no per-round judgments."""
    fig = rounds_figure(scores)
    return None if fig is None else _save(fig, path)


def rounds_figure(scores: Scores) -> Any:
    """The per-round figure, each point labelled with its n (None: no per-round judgments)."""
    per_round = scores.by.get("round") or {}
    if not per_round:
        return None
    plt = _pyplot()
    rounds = [int(n) for n in per_round]
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for metric, marker in (("RefScore", "o"), ("mRecall", "s")):
        values = [per_round[str(n)].rates.get(metric) for n in rounds]
        points = [(n, 100 * v) for n, v in zip(rounds, values, strict=True) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=metric)
            for n, value in points:
                ax.annotate(f"n={per_round[str(n)].n}", (n, value), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=7)  # fmt: skip
    ax.set_xlabel("round")
    ax.set_ylabel("%")
    ax.set_xticks(rounds)
    ax.set_title("RefScore and mRecall per round")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_error_types(scores: Scores, path: Path) -> Path | None:
    """Stacked scenario shares per error type; None when the run has no error types."""
    fig = error_types_figure(scores)
    return None if fig is None else _save(fig, path)


def error_types_figure(scores: Scores) -> Any:
    """Stacked scenario shares per error type (horizontal bars); n on each bar, counts inside."""
    groups = scores.by.get("error_type") or {}
    if not groups:
        return None
    plt = _pyplot()
    names = list(groups)
    labels = [plain(f"{'(correct solutions)' if n == '-' else n} (n={groups[n].n})") for n in names]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(names) + 1.6))
    left = [0.0] * len(names)
    for scenario in SCENARIOS:
        shares = []
        for name in names:
            counts = groups[name].counts
            total = sum(counts.get(s, 0) for s in SCENARIOS) or 1
            shares.append(100 * counts.get(scenario, 0) / total)
        bars = ax.barh(labels, shares, left=left, color=SCENARIO_COLOURS[scenario], label=scenario)
        in_segment = [groups[name].counts.get(scenario, 0) for name in names]
        # each segment carries its item count (empty segments none)
        ax.bar_label(bars, labels=[str(c) if c else "" for c in in_segment], label_type="center",
                     fontsize=7)  # fmt: skip
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_xlabel("% of the type's judged items (segment labels: item counts)")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_title("scenarios per error type")
    ax.legend(ncol=6, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return fig


def plot_sweep(out: Path, rows: Sequence[CellSummary]) -> Path | None:
    """Cost (or tokens) vs RefScore, one labelled point per cell; None with no scored cell."""
    scored = [(r, refscore) for r in rows if (refscore := r.rates.get("RefScore")) is not None]
    if not scored:
        return None
    use_cost = any(r.cost_usd > 0 for r, _ in scored)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [r.cost_usd if use_cost else r.tokens for r, _ in scored]
    ys = [100 * refscore for _, refscore in scored]
    ax.scatter(xs, ys)
    for x, y, (row, _) in zip(xs, ys, scored, strict=True):
        label = f"{row.cell} (n={row.n_judged})" + (" USES GOLD" if row.uses_gold else "")
        ax.annotate(plain(label), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("cost (USD)" if use_cost else "tokens (no cost known)")
    ax.set_ylabel("RefScore (%)")
    ax.set_title("cost vs RefScore across sweep cells")
    ax.grid(alpha=0.3)
    return _save(fig, out / "cost_vs_refscore.png")


def plot_run(scores: Scores, out_dir: Path) -> list[Path]:
    """Every plot that applies to one run, written into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = [
        plot_rounds(scores, out_dir / "refscore_per_round.png"),
        plot_error_types(scores, out_dir / "scenarios_by_error_type.png"),
    ]
    return [p for p in made if p is not None]
