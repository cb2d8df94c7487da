"""``progress_observer``: one line per finished item, and the headline at the end.

The example of an observer plugin: it registers nothing, it implements observer hooks. Each
finished item prints ``[3] shape:sum  ED`` (or the failure's kind) to stderr, and the end of a
run prints RefScore and mRecall in percent, the unit of every printed table. Run it with any
run from the repository root::

    mmrefine run configs/quickstart.yaml --plugin examples/progress_observer.py --quiet

Observers are called in the run's event loop (keep them quick), see every session that works
on a run (a run, a resume, a re-judge) and never stop it: an exception in one is reported once
as a warning. See docs/plugins.md, "An observer".
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console

from mmrefine_agent import ItemResult, RunInfo, Scores, hookimpl

_console = Console(stderr=True, highlight=False)
_done: Counter[str] = Counter()
"""Items finished per run directory (several runs may share a process: a sweep, a notebook)."""


@hookimpl
def mmrefine_run_started(run: RunInfo) -> None:
    """Say which run starts (a sweep cell's values too)."""
    _done[str(run.run_dir)] = 0
    cell = " ".join(f"{k}={v}" for k, v in run.cell.items())
    _console.print(f"progress: {run.session} {run.run_dir} {cell}".rstrip(), markup=False)


@hookimpl
def mmrefine_observe_item(result: ItemResult, run: RunInfo) -> None:
    """One line per finished item: its scenario, or the kind of its failure."""
    _done[str(run.run_dir)] += 1
    outcome = (result.scenario or "not judged") if result.status == "ok" else result.status
    _console.print(f"[{_done[str(run.run_dir)]}] {result.key}  {outcome}", markup=False)


@hookimpl
def mmrefine_run_finished(run_dir: str, scores: Scores, run: RunInfo) -> None:
    """The headline figures, in percent."""
    if scores.overall is None or not scores.judged:
        _console.print(f"progress: {run_dir}: nothing judged", markup=False)
        return
    rates = scores.overall.rates_percent  # ``rates`` holds the same as fractions
    headline = {name: rates.get(name) for name in ("RefScore", "mRecall")}
    shown = ", ".join(f"{k} {v:.1f}" for k, v in headline.items() if v is not None)
    _console.print(f"progress: {run_dir}: {shown} (%, {scores.n_judged} judged)", markup=False)
