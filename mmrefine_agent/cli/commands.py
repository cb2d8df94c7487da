"""Implementations of the ``mmrefine`` subcommands (imported only after parsing)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from mmrefine_agent.errors import DataError, RunDirError

if TYPE_CHECKING:
    from mmrefine_agent.engine.run import RunOutcome

console = Console()


def _plugins(args: argparse.Namespace) -> Any:
    from mmrefine_agent.plugins_manager import load_plugins

    modules = [*(getattr(args, "plugin", []) or []), *(getattr(args, "sub_plugin", []) or [])]
    return load_plugins(modules)


def _overrides(args: argparse.Namespace) -> list[str]:
    overrides = list(args.overrides)
    if args.limit is not None:
        overrides.append(f"data.limit={args.limit}")
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    return overrides


EXIT_OK, EXIT_INCOMPLETE = 0, 1


def print_outcome(outcome: RunOutcome, title: str | None = None) -> int:
    """Scores (with legend), usage, failures per cause and how to resume; the exit code."""
    from mmrefine_agent.cli.render import scores_table, usage_table

    scores = outcome.scores
    if scores.judged:
        console.print(scores_table(scores, title=title))
    else:
        console.print(f"not scored: {scores.note}", markup=False, highlight=False)
    console.print(usage_table(outcome.usage, "usage (this session)"))
    console.print(
        f"run directory: [bold]{outcome.run_dir}[/]  items {outcome.n_items}, "
        f"done {outcome.n_done}, failed {outcome.n_errors}, {outcome.elapsed_s:.1f}s",
        highlight=False,
    )
    done = scores.completeness
    if outcome.stopped_early:
        console.print(f"[red]stopped early:[/] {outcome.stopped_early}", highlight=False)
    if outcome.errors:
        causes: dict[str, list[str]] = {}
        for line in outcome.errors:
            parts = line.split(": ", 2)
            cause = parts[1] if len(parts) == 3 else "error"
            causes.setdefault(cause, []).append(line)
        summary = ", ".join(f"{cause} {len(lines)}" for cause, lines in causes.items())
        console.print(f"[yellow]failures: {summary}[/]", highlight=False)
        for lines in causes.values():
            console.print(f"  first: {lines[0]}", markup=False, highlight=False)
    if not done.complete:
        reason = "no items" if not done.n_expected else "incomplete"
        console.print(
            f"[yellow]{reason}:[/] failed {sum(done.failed.values())}, not judged "
            f"{done.not_judged}, judge errors {done.judge_errors}"
            + (f"; {done.resume}" if done.resume else ""),
            highlight=False,
        )
        return EXIT_INCOMPLETE
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """``mmrefine run CONFIG``: refine + judge into a run directory."""
    from mmrefine_agent.cli.progress import RunProgress
    from mmrefine_agent.config import load_config
    from mmrefine_agent.engine.run import arun

    config = load_config(Path(args.config), _overrides(args))
    out = Path(args.out) if args.out else Path(config.run.out_dir) / config.name
    plugins = _plugins(args)
    progress = RunProgress(console, enabled=not args.quiet)
    with progress:
        outcome = asyncio.run(
            arun(config, out, plugins=plugins, restart=args.restart, sinks=[progress])
        )
    proxy = " (PROXY)" if outcome.scores.is_proxy else ""
    title = (
        f"{config.name}: {config.strategy.name} x {config.model.name} - judge "
        f"{config.judge.name}{proxy}"
    )
    return print_outcome(outcome, title)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``mmrefine sweep CONFIG``: one run directory per grid cell, then a summary table."""
    from mmrefine_agent.cli.progress import RunProgress
    from mmrefine_agent.cli.render_research import sweep_table
    from mmrefine_agent.config import apply_override, load_config_dict, parse_override
    from mmrefine_agent.engine.run import arun
    from mmrefine_agent.engine.sweep import Cell, CellOutcome, run_sweep

    raw = load_config_dict(Path(args.config))
    for text in _overrides(args):
        parts, value = parse_override(text)
        apply_override(raw, parts, value)
    name = str(raw.get("name") or Path(args.config).stem)
    raw["name"] = name
    out_dir = (raw.get("run") or {}).get("out_dir") or "runs"
    out = Path(args.out) if args.out else Path(out_dir) / name
    plugins = _plugins(args)

    def run_cell(cell: Cell, run_dir: Path) -> RunOutcome:
        console.rule(f"cell {cell.name}", style="cyan")
        progress = RunProgress(console, enabled=not args.quiet)
        with progress:
            return asyncio.run(
                arun(cell.config, run_dir, plugins=plugins, restart=args.restart,
                     sinks=[progress], cell=cell.values)
            )  # fmt: skip

    def on_cell(outcome: CellOutcome) -> None:
        if outcome.error:
            console.print(f"[red]cell {outcome.cell.name} failed:[/] {outcome.error}")

    def check_cell(cell: Cell) -> None:
        config = cell.config
        plugins.backends.get(config.model.backend)
        plugins.strategies.get(config.strategy.name)
        if config.judge.name not in ("none", ""):
            judge = plugins.judges.get(config.judge.name)
            if getattr(judge, "needs_model", False):
                plugins.backends.get(config.judge.backend)

    outcomes = run_sweep(
        raw, out, run_cell, origin=args.config, on_cell=on_cell, check_cell=check_cell
    )
    console.print(sweep_table(name, outcomes))
    from mmrefine_agent.analysis.plots import plot_sweep

    plot = plot_sweep(out, [o for o in outcomes if o.scores])
    console.print(
        f"sweep directory: [bold]{out}[/] ({len(outcomes)} cells; sweep.json"
        + (f", {plot.name}" if plot else "")
        + ")",
        highlight=False,
    )
    if any(o.status == "failed" for o in outcomes):
        return 2
    incomplete = any(o.scores is None or not o.scores.completeness.complete for o in outcomes)
    return EXIT_INCOMPLETE if incomplete else EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """``mmrefine compare RUN_DIR RUN_DIR ...``: side by side, with paired differences."""
    from mmrefine_agent.analysis.compare import compare_runs
    from mmrefine_agent.cli.render_research import print_comparison

    comparison = compare_runs([Path(p) for p in args.run_dirs], changed_limit=args.changed)
    if args.json:
        print(json.dumps(comparison, indent=2))
        return 0
    print_comparison(console, comparison)
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    """``mmrefine judge RUN_DIR``: re-judge without refinement calls."""
    from mmrefine_agent.cli.progress import RunProgress
    from mmrefine_agent.judging.rejudge import rejudge_run, score_submission

    plugins = _plugins(args)
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
        with progress:
            outcome = asyncio.run(
                rejudge_run(Path(args.run_dir), plugins, overrides=args.overrides,
                            force=args.all, sinks=[progress])
            )  # fmt: skip
    return print_outcome(outcome)


def cmd_report(args: argparse.Namespace) -> int:
    """``mmrefine report RUN_DIR``: scores, breakdowns, rounds, localisation, plots, HTML."""
    from mmrefine_agent.cli.render import (
        breakdown_table,
        node_usage_table,
        parse_health_table,
        scores_table,
        usage_table,
    )
    from mmrefine_agent.records.rundir import RunDir

    run = RunDir(Path(args.run_dir)).require()
    scores = run.scores()
    if args.json:
        print(scores.model_dump_json(indent=2))
        return 0
    if not scores.judged:
        console.print("this run was not judged: `mmrefine judge RUN_DIR --set judge.name=offline`")
        return EXIT_INCOMPLETE
    console.print(scores_table(scores))
    for by in args.by:
        if by == "localisation":
            from mmrefine_agent.analysis.localisation import localisation, reference_steps
            from mmrefine_agent.cli.render_research import localisation_table
            from mmrefine_agent.run_view import open_run

            view = open_run(run.path)
            console.print(
                localisation_table(localisation(view.results, reference_steps(view.items)))
            )
            continue
        console.print(breakdown_table(scores, by))
        if by == "round":
            from mmrefine_agent.analysis.rounds import round_analysis
            from mmrefine_agent.cli.render_research import print_rounds

            print_rounds(console, round_analysis(run.results(), scores))
    if scores.usage is not None:
        sessions = len(scores.usage.sessions) or 1
        totals = {"refine": scores.usage.refine, "judge": scores.usage.judge}
        console.print(usage_table(totals, f"usage (run total, {sessions} session(s))"))
    if scores.usage_by_node:
        console.print(node_usage_table(scores.usage_by_node))
    if scores.parse_health:
        console.print(parse_health_table(scores.parse_health))
    if args.plots:
        from mmrefine_agent.analysis.plots import plot_run

        for path in plot_run(scores, Path(args.plots)):
            console.print(f"plot: [bold]{path}[/]", highlight=False)
    if args.html:
        from mmrefine_agent.analysis.html_report import write_html_report

        path = write_html_report(run, Path(args.html))
        console.print(f"HTML report: [bold]{path}[/]", highlight=False)
    return EXIT_OK if scores.completeness.complete else EXIT_INCOMPLETE


def cmd_trace(args: argparse.Namespace) -> int:
    """``mmrefine trace RUN_DIR ITEM_KEY``: one item step by step."""
    from mmrefine_agent.cli.trace_view import render_trace

    render_trace(console, Path(args.run_dir), args.item_key, full=args.full)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """``mmrefine plugins``: what is loaded and from where."""
    from rich.table import Table

    plugins = _plugins(args)
    table = Table(title="mmrefine plugins")
    for column in ("kind", "name", "plugin", "from", "description"):
        table.add_column(column)
    for kind, registry in (
        ("backend", plugins.backends),
        ("strategy", plugins.strategies),
        ("judge", plugins.judges),
    ):
        for name in registry.names():
            entry = registry.entries[name]
            description = getattr(entry.component, "description", "") or ""
            table.add_row(kind, name, entry.plugin, entry.origin, description)
    observing = ("mmrefine_run_started", "mmrefine_observe_step", "mmrefine_observe_judgment",
                 "mmrefine_observe_item", "mmrefine_run_finished")  # fmt: skip
    for hook_name in observing:
        for impl in getattr(plugins.pm.hook, hook_name).get_hookimpls():
            origin = plugins.origin_of(impl.plugin)
            table.add_row("observer", hook_name.removeprefix("mmrefine_"), impl.plugin_name,
                          origin, "")  # fmt: skip
    console.print(table)
    hooks = sorted(name for name in dir(plugins.pm.hook) if name.startswith("mmrefine_"))
    console.print(f"hooks: {', '.join(hooks)}", highlight=False)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """``mmrefine graph STRATEGY``: the compiled graph's nodes, edges and routes."""
    from mmrefine_agent.config import build_config
    from mmrefine_agent.graph.builder import compile_graph, strategy_shape

    plugins = _plugins(args)
    config = build_config({"strategy": {"name": args.strategy}}, args.overrides, origin="--set")
    strategy = plugins.strategies.get(config.strategy.name)(config.strategy)
    compiled = compile_graph(strategy)
    if args.mermaid:
        print(compiled.get_graph().draw_mermaid())
        return 0
    shape = strategy_shape(strategy)
    console.print(
        f"[bold]{strategy.name}[/]: {strategy.description} (max_rounds {strategy.max_rounds})",
        highlight=False,
    )
    for node in ["__start__", *shape.all_nodes()]:
        if node == "__start__":
            console.print("  START -> begin_round", highlight=False)
        elif node in shape.edges:
            target = shape.edges[node].replace("__end__", "END")
            console.print(f"  {node} -> {target}", highlight=False)
        elif node in shape.routes:
            route = shape.routes[node]
            targets = " | ".join(d.replace("__end__", "END") for d in route.destinations)
            console.print(f"  {node} -?-> {targets}   (route)", highlight=False)
    for option, meaning in strategy.options_doc.items():
        console.print(f"  option strategy.options.{option}: {meaning}", highlight=False)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """``mmrefine config --keys``: the config reference, generated from the config models."""
    from rich.table import Table

    from mmrefine_agent.cli.config_keys import key_rows, keys_markdown

    if args.markdown:
        print(keys_markdown(), end="")
        return 0
    table = Table(title="config keys (--set dotted.key=value)")
    for column in ("key", "type", "default", "meaning"):
        table.add_column(column)
    for row in key_rows():
        table.add_row(*row)
    console.print(table)
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """``mmrefine data info|download``."""
    from mmrefine_agent.cli.render import print_counts
    from mmrefine_agent.data.datadir import resolve_data_dir
    from mmrefine_agent.data.mmrefine import count_by, load_items

    if args.action == "download":
        from mmrefine_agent.data.download import download_data

        path = download_data(args.data_dir)
        console.print(f"benchmark data in [bold]{path}[/]", highlight=False)
        return 0
    data_dir = resolve_data_dir(args.data_dir)
    loaded = load_items(data_dir)
    console.print(
        f"data directory: [bold]{data_dir}[/] - {len(loaded.items)} items, "
        f"{len(loaded.problems)} bad rows",
        highlight=False,
    )
    counts = {
        attr: count_by(loaded.items, attr) for attr in ("label", "error_type", "source", "modality")
    }
    print_counts(console, "MMRefine", counts)
    for problem in loaded.problems[:20]:
        console.print(f"[red]bad row[/] {problem}", highlight=False)
    if loaded.problems:
        raise DataError(f"{len(loaded.problems)} bad row(s) in {loaded.path}")
    return 0
