"""``run``, ``sweep`` and ``judge``: the commands that make model calls, and their summary."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from mmrefine_agent import ConfigError
from mmrefine_agent.cli.safe_text import inline, safe
from mmrefine_agent.errors import RunDirError

if TYPE_CHECKING:
    from mmrefine_agent import RunOutcome

console = Console()


def plugin_modules_of(args: argparse.Namespace) -> list[str]:
    """The ``--plugin`` modules given before or after the subcommand."""
    return [*(getattr(args, "plugin", []) or []), *(getattr(args, "sub_plugin", []) or [])]


def plugins_of(args: argparse.Namespace, run_dir: Path | None = None) -> Any:
    """The plugins, with the ``--plugin`` modules (and a run directory's own, checked)."""
    from mmrefine_agent import load_plugins
    from mmrefine_agent.run_plugins import load_run_plugins

    if run_dir is not None and (run_dir / "fingerprint.json").is_file():
        return load_run_plugins(run_dir, plugin_modules_of(args))
    return load_plugins(plugin_modules_of(args))


def overrides_of(args: argparse.Namespace) -> list[str]:
    """``--set`` overrides plus ``--limit`` and ``--data-dir``."""
    overrides = list(args.overrides)
    if args.limit is not None:
        overrides.append(f"data.limit={args.limit}")
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    return overrides


EXIT_OK, EXIT_INCOMPLETE = 0, 1


def print_quiet(outcome: RunOutcome) -> int:
    """Only the run directory, the headline figures and what is missing; the exit code."""
    from mmrefine_agent.cli.render import GOLD_NOTE

    scores = outcome.scores
    if scores.uses_gold:
        console.print(GOLD_NOTE, highlight=False)
    console.print(f"run directory: {safe(str(outcome.run_dir))}", markup=False, highlight=False)
    overall = scores.overall
    if scores.judged and overall is not None:
        judge = scores.judge if isinstance(scores.judge, str) else ", ".join(scores.judge or [])
        figures = ", ".join(
            f"{name} {percent(overall.rates.get(name))}{interval(overall.ci95.get(name))}"
            for name in ("RefScore", "mRecall")
        )
        proxy = " (PROXY)" if scores.is_proxy else ""
        console.print(
            f"{figures}; judged {scores.n_judged} of {scores.n_items} - judge {safe(judge)}{proxy}",
            markup=False,
            highlight=False,
        )
    else:
        console.print(f"not scored: {safe(scores.note)}", markup=False, highlight=False)
    step = scores.step_metrics
    if step is not None and step.dataset not in ("mmrefine", ""):
        rates = step.overall.rates
        dataset = step.dataset if isinstance(step.dataset, str) else ", ".join(step.dataset)
        console.print(
            f"step metrics - dataset {safe(dataset)}: detection F1 {percent(rates.get('f1'))}, "
            f"localisation F1 {percent(rates.get('localisation_f1'))}, answer accuracy "
            f"{percent(rates.get('answer_accuracy'))}",
            markup=False,
            highlight=False,
        )
    return print_missing(outcome)


def percent(value: float | None) -> str:
    """A fraction as the tables print it (percent, one decimal; "-" when undefined)."""
    return "-" if value is None else f"{100 * value:.1f}"


def interval(bounds: list[float] | None) -> str:
    """`` [lo, hi]`` in percent, or nothing."""
    return "" if not bounds else f" [{percent(bounds[0])}, {percent(bounds[1])}]"


def print_missing(outcome: RunOutcome) -> int:
    """What did not finish: stopped early, failures per cause, and how to resume; exit code."""
    done = outcome.scores.completeness
    if outcome.stopped_early:
        console.print(f"stopped early: {safe(outcome.stopped_early)}", markup=False)
    if outcome.errors:
        from mmrefine_agent.cli.failures import print_failures

        print_failures(console, outcome.errors)
    if not done.complete:
        reason = "no items" if not done.n_expected else "incomplete"
        console.print(
            f"[yellow]{reason}:[/] failed {sum(done.failed.values())}, not judged "
            f"{done.not_judged}, judge errors {done.judge_errors}"
            + (f"; {inline(done.resume)}" if done.resume else ""),
            highlight=False,
        )
        return EXIT_INCOMPLETE
    return EXIT_OK


def print_outcome(outcome: RunOutcome, title: str | None = None, *, quiet: bool = False) -> int:
    """Scores (with legend), usage, failures per cause and how to resume; the exit code.

    ``quiet``: only the run directory, the headline figures and what is missing.
    """
    from mmrefine_agent.cli.render import GOLD_NOTE, model_of, scores_table, usage_table

    if quiet:
        return print_quiet(outcome)
    scores = outcome.scores
    if scores.uses_gold:
        console.print(GOLD_NOTE, highlight=False)
    if scores.judged:
        console.print(scores_table(scores, title=title, model=model_of(outcome.run_dir)))
    else:
        console.print(f"not scored: {safe(scores.note)}", markup=False, highlight=False)
    step = scores.step_metrics
    if step is not None and step.dataset not in ("mmrefine", ""):
        from mmrefine_agent.cli.render_steps import step_metrics_table

        console.print(step_metrics_table(step))
    console.print(usage_table(outcome.usage, "usage (this session)"))
    console.print(
        f"run directory: [bold]{inline(outcome.run_dir)}[/]  items {outcome.n_items}, "
        f"done {outcome.n_done}, failed {outcome.n_errors}, {outcome.elapsed_s:.1f}s",
        highlight=False,
    )
    return print_missing(outcome)


def cmd_run(args: argparse.Namespace) -> int:
    """``mmrefine run CONFIG``: refine + judge into a run directory."""
    from mmrefine_agent import arun, load_config
    from mmrefine_agent.cli.progress import RunProgress

    config = load_config(Path(args.config), overrides_of(args))
    out = Path(args.out) if args.out else Path(config.run.out_dir) / config.name
    progress = RunProgress(console, enabled=not args.quiet)
    with progress:  # resuming, the run's own plugin modules are loaded again (and checked)
        outcome = asyncio.run(
            arun(config, out, plugins=plugin_modules_of(args), restart=args.restart,
                 sinks=[progress])
        )  # fmt: skip
    proxy = " (PROXY)" if outcome.scores.is_proxy else ""
    title = (
        f"{config.name}: {config.strategy.name} x {config.model.name} - judge "
        f"{config.judge.name}{proxy}"
    )
    return print_outcome(outcome, title, quiet=args.quiet)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``mmrefine sweep CONFIG``: one run directory per grid cell, then a summary table."""
    from mmrefine_agent import arun
    from mmrefine_agent.cli.progress import RunProgress
    from mmrefine_agent.cli.render_research import gold_cells_table, sweep_table
    from mmrefine_agent.config import (
        apply_override,
        load_config_dict,
        parse_override,
        unsafe_name,
    )
    from mmrefine_agent.engine.sweep import Cell, CellOutcome, expand_grid, run_sweep, summary_row

    raw = load_config_dict(Path(args.config))
    for text in overrides_of(args):
        parts, value = parse_override(text)
        if parts[0] == "grid" and len(parts) > 1:  # grid.data.name=[a,b]: the axis "data.name"
            grid = raw.get("grid")
            raw["grid"] = {**(grid if isinstance(grid, dict) else {}), ".".join(parts[1:]): value}
            continue
        apply_override(raw, parts, value)
    name = str(raw.get("name") or Path(args.config).stem)
    problem = unsafe_name(name)
    if problem:  # the sweep directory is run.out_dir/NAME
        raise ConfigError(f"{args.config}: 'name': must be a plain directory name ({problem})")
    raw["name"] = name
    out_dir = (raw.get("run") or {}).get("out_dir") or "runs"
    out = Path(args.out) if args.out else Path(out_dir) / name
    from mmrefine_agent.run_plugins import load_sweep_plugins

    # run again, the cells resume: the plugin modules they were made with are loaded (checked)
    plugins = load_sweep_plugins(out, plugin_modules_of(args), restart=args.restart)

    total = len(expand_grid(raw, origin=args.config))
    started: list[str] = []

    def run_cell(cell: Cell, run_dir: Path) -> RunOutcome:
        started.append(cell.name)
        console.rule(f"cell {len(started)}/{total}: {cell.name}", style="cyan")
        progress = RunProgress(console, enabled=not args.quiet)
        with progress:
            outcome = asyncio.run(
                arun(cell.config, run_dir, plugins=plugins, restart=args.restart,
                     sinks=[progress], cell=cell.values)
            )  # fmt: skip
        if outcome.errors:
            from mmrefine_agent.cli.failures import print_failures

            print_failures(console, outcome.errors)
        return outcome

    def on_cell(outcome: CellOutcome) -> None:
        if outcome.error:
            console.print(
                f"[red]cell {inline(outcome.cell.name)} failed:[/] {inline(outcome.error)}",
                highlight=False,
            )

    def check_cell(cell: Cell) -> None:
        from mmrefine_agent.model.options import check_options

        config = cell.config
        plugins.strategies.get(config.strategy.name)(config.strategy)  # options checked too
        check_options(config, plugins)  # the backends exist, and their options

    if ((raw.get("run") or {}).get("executor") or "local") == "ray":
        from mmrefine_agent.engine.executors.ray_sweep import sweep_on_ray

        outcomes = sweep_on_ray(
            raw, out, plugins, restart=args.restart, origin=args.config, on_cell=on_cell,
            check_cell=check_cell, quiet=args.quiet,
        )  # fmt: skip
    else:
        outcomes = run_sweep(
            raw, out, run_cell, origin=args.config, on_cell=on_cell, check_cell=check_cell
        )
    rows = [summary_row(o) for o in outcomes]
    console.print(sweep_table(name, rows, raw.get("grid"), include_gold=args.include_gold))
    apart = None if args.include_gold else gold_cells_table(rows)
    if apart is not None:
        console.print(apart)
    from mmrefine_agent.analysis.plots import plot_sweep

    plot = plot_sweep(out, [r for r, o in zip(rows, outcomes, strict=True) if o.scores])
    console.print(
        f"sweep directory: [bold]{out}[/] ({len(outcomes)} cells; sweep.json"
        + (f", {plot.name}" if plot else "")
        + ")",
        highlight=False,
    )
    if args.html:
        from mmrefine_agent.analysis.sweep_report import write_sweep_report

        page = write_sweep_report(out, Path(args.html), args.baseline)
        console.print(f"HTML sweep report: [bold]{page}[/]", highlight=False)
    if any(o.status == "failed" for o in outcomes):
        return 2
    incomplete = any(o.scores is None or not o.scores.completeness.complete for o in outcomes)
    return EXIT_INCOMPLETE if incomplete else EXIT_OK


def cmd_judge(args: argparse.Namespace) -> int:
    """``mmrefine judge RUN_DIR``: re-judge without refinement calls."""
    from mmrefine_agent.cli.progress import RunProgress
    from mmrefine_agent.engine.rejudge import rejudge_run, score_submission

    run_dir = Path(args.run_dir) if args.run_dir and not args.submission else None
    plugins = plugins_of(args, run_dir)
    progress = RunProgress(console, enabled=not getattr(args, "quiet", False), label="judging")
    if args.submission:
        out = (
            Path(args.out)
            if args.out
            else Path("runs") / f"submission-{Path(args.submission).stem}"
        )
        with progress:
            outcome = asyncio.run(
                score_submission(Path(args.submission), out, plugins, overrides=args.overrides,
                                 data_dir=args.data_dir, sinks=[progress])
            )  # fmt: skip
    else:
        if not args.run_dir:
            raise RunDirError("give a RUN_DIR, or --submission FILE")
        section = None
        if args.config:
            from mmrefine_agent.config import load_config_dict

            section = load_config_dict(Path(args.config)).get("judge")
            if not isinstance(section, dict):
                raise ConfigError(f"{args.config}: --config needs a 'judge:' section")
        with progress:
            outcome = asyncio.run(
                rejudge_run(Path(args.run_dir), plugins, overrides=args.overrides,
                            force=args.all, sinks=[progress], judge_section=section,
                            trust_run_config=args.trust_run_config)
            )  # fmt: skip
    return print_outcome(outcome, quiet=args.quiet)
