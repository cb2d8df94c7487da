"""Implementations of the ``mmrefine`` subcommands (imported only after parsing)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from mmrefine_agent import DataError
from mmrefine_agent.cli.run_commands import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    cmd_judge,
    cmd_run,
    cmd_sweep,
    console,
    plugin_modules_of,
    plugins_of,
)

if TYPE_CHECKING:
    from mmrefine_agent.records.rundir import RunDir
    from mmrefine_agent.records.tool_report import ToolReport

__all__ = ["cmd_judge", "cmd_run", "cmd_sweep"]


def cmd_compare(args: argparse.Namespace) -> int:
    """``mmrefine compare RUN_DIR RUN_DIR ...``: side by side, with paired differences."""
    from mmrefine_agent.analysis.compare import compare_runs
    from mmrefine_agent.cli.render_research import print_comparison

    comparison = compare_runs(
        [Path(p) for p in args.run_dirs],
        changed_limit=args.changed,
        include_gold=args.include_gold,
        plugins=plugin_modules_of(args),
    )
    if args.json:
        from mmrefine_agent.records.outputs import Comparison

        print(Comparison.model_validate(comparison).model_dump_json(indent=2, by_alias=True))
        return 0
    print_comparison(console, comparison)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``mmrefine report RUN_DIR``: scores, breakdowns, rounds, localisation, plots, HTML."""
    from mmrefine_agent.analysis.sweep_report import is_sweep_dir
    from mmrefine_agent.cli.render import (
        breakdown_table,
        model_of,
        node_usage_table,
        parse_health_table,
        scores_table,
        usage_table,
    )
    from mmrefine_agent.records.rundir import RunDir

    if is_sweep_dir(Path(args.run_dir)):
        return sweep_html(Path(args.run_dir), args.html, args.baseline)
    run = RunDir(Path(args.run_dir)).require()
    scores = run.scores()
    if args.json:
        if "tool" in args.by:
            document = json.loads(scores.model_dump_json())
            document["by_tool"] = tool_report_of(run).model_dump(mode="json")
            print(json.dumps(document, indent=2))
        else:
            print(scores.model_dump_json(indent=2))
        return 0
    from mmrefine_agent.cli import render_steps
    from mmrefine_agent.cli.render import GOLD_NOTE

    if scores.uses_gold:
        console.print(GOLD_NOTE, highlight=False)
    from mmrefine_agent.cli.failures import print_failures

    failures = [f"{r.key}: {r.status}: {r.error}" for r in run.results() if r.status != "ok"]
    if not scores.judged:
        if scores.step_metrics is not None:
            console.print(render_steps.step_metrics_table(scores.step_metrics))
        print_failures(console, failures)
        if failures:
            console.print(
                f"not scored: {scores.note}; running the same `mmrefine run` again (same --out) "
                "redoes the failed items",
                markup=False,
                highlight=False,
            )
        else:
            console.print(
                "this run was not judged: `mmrefine judge RUN_DIR --set judge.name=offline`"
            )
        return EXIT_INCOMPLETE
    console.print(scores_table(scores, model=model_of(run.path)))
    if scores.step_metrics is not None:
        console.print(render_steps.step_metrics_table(scores.step_metrics))
    for by in args.by:
        if by == "category":
            if scores.step_metrics is not None:
                console.print(render_steps.category_table(scores.step_metrics))
            continue
        if by == "tool":
            from mmrefine_agent.cli.render_tools import print_tool_report

            print_tool_report(console, tool_report_of(run))
            continue
        if by == "localisation":
            from mmrefine_agent import open_run
            from mmrefine_agent.analysis.localisation import localisation, reference_steps
            from mmrefine_agent.analysis.step_compare import reference_words
            from mmrefine_agent.cli.render_research import localisation_table

            view = open_run(run.path, plugin_modules_of(args))
            items = view.items
            found = localisation(view.results, reference_steps(items))
            console.print(localisation_table(found, reference_words(items)))
            continue
        console.print(breakdown_table(scores, by))
        if by == "round":
            from mmrefine_agent.analysis.rounds import round_analysis
            from mmrefine_agent.cli.render_research import print_rounds

            print_rounds(console, round_analysis(run.results(), scores))
            if scores.round_correction is not None:
                console.print(render_steps.round_correction_table(scores.round_correction))
            else:
                console.print("answers across rounds: every item ran one round")
    if scores.usage is not None:
        sessions = len(scores.usage.sessions) or 1
        totals = {"refine": scores.usage.refine, "judge": scores.usage.judge}
        console.print(usage_table(totals, f"usage (run total, {sessions} session(s))"))
    if scores.usage_by_node:
        console.print(node_usage_table(scores.usage_by_node))
    if scores.parse_health:
        console.print(parse_health_table(scores.parse_health))
    print_failures(console, failures)
    if args.plots:
        from mmrefine_agent.analysis.plots import plot_run

        for path in plot_run(scores, Path(args.plots)):
            console.print(f"plot: [bold]{path}[/]", highlight=False)
    if args.html:
        from mmrefine_agent import write_html_report
        from mmrefine_agent.records.lock import RunLock

        status = f"writing {args.html} ({scores.n_items} items)"
        with RunLock(run.path, "report --html"), console.status(status):
            path = write_html_report(run, Path(args.html), plugin_modules_of(args))
        console.print(f"HTML report: [bold]{path}[/]", highlight=False)
    return EXIT_OK if scores.completeness.complete else EXIT_INCOMPLETE


def tool_report_of(run: RunDir) -> ToolReport:
    """The ``--by tool`` report of a run directory (its results and steps)."""
    from mmrefine_agent.analysis.tool_usage import tool_report

    return tool_report(run.results(), run.steps())


def sweep_html(sweep_dir: Path, html: str | None, baseline: str | None) -> int:
    """``mmrefine report SWEEP_DIR --html FILE``: the sweep page and each cell's report."""
    from mmrefine_agent.analysis.sweep_report import write_sweep_report

    if not html:
        from mmrefine_agent.errors import RunDirError

        raise RunDirError(
            f"{sweep_dir} is a sweep directory: `mmrefine report {sweep_dir} --html FILE` "
            "compares its cells; `mmrefine report CELL_DIR` reports one cell"
        )
    path = write_sweep_report(sweep_dir, Path(html), baseline)
    console.print(f"HTML sweep report: [bold]{path}[/] (cells: {path.stem}_cells/)",
                  highlight=False)  # fmt: skip
    return EXIT_OK


def cmd_trace(args: argparse.Namespace) -> int:
    """``mmrefine trace RUN_DIR ITEM_KEY``: one item step by step."""
    from mmrefine_agent.cli.trace_view import render_trace

    render_trace(
        console, Path(args.run_dir), args.item_key, full=args.full,
        plugins=plugin_modules_of(args),
    )  # fmt: skip
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """``mmrefine plugins [--json]``: what is loaded and from where."""
    from mmrefine_agent.cli.plugins_view import plugin_listing, print_plugins

    listing = plugin_listing(plugins_of(args))
    if args.json:
        print(listing.model_dump_json(indent=2))
        return 0
    print_plugins(console, listing)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """``mmrefine graph STRATEGY [--mermaid]``: the compiled graph's nodes, edges and routes."""
    from mmrefine_agent.cli.graph_view import print_graph
    from mmrefine_agent.config import build_config
    from mmrefine_agent.graph.builder import compile_graph, strategy_shape

    plugins = plugins_of(args)
    config = build_config({"strategy": {"name": args.strategy}}, args.overrides, origin="--set")
    strategy = plugins.strategies.get(config.strategy.name)(config.strategy)
    shape = strategy_shape(strategy)
    compiled = compile_graph(strategy, shape)
    if args.mermaid:
        print(compiled.get_graph(xray=True).draw_mermaid())  # subgraphs drawn inside
        return 0
    print_graph(console, strategy, shape)
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
    """``mmrefine data info|download`` (``info --set data.name=NAME`` for another dataset)."""
    if args.action == "download":
        from mmrefine_agent.data.download import download_data

        path = download_data(args.data_dir)
        console.print(f"benchmark data in [bold]{path}[/]", highlight=False)
        return 0
    from mmrefine_agent.cli.data_info import print_data_info
    from mmrefine_agent.config import build_config

    overrides = list(args.overrides) + ([f"data.dir={args.data_dir}"] if args.data_dir else [])
    loaded = print_data_info(
        console, build_config({}, overrides, origin="--set").data, plugins_of(args)
    )
    if loaded.problems:
        raise DataError(f"{len(loaded.problems)} bad row(s) in {loaded.path}")
    return 0
