"""Implementations of the ``mmrefine`` subcommands (imported only after parsing)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from mmrefine_agent.errors import DataError, RunDirError

console = Console()


def _plugins(args: argparse.Namespace) -> Any:
    from mmrefine_agent.plugins_manager import load_plugins

    return load_plugins(getattr(args, "plugin", []) or [])


def cmd_run(args: argparse.Namespace) -> int:
    """``mmrefine run CONFIG``: refine + judge into a run directory."""
    from mmrefine_agent.cli.progress import RunProgress
    from mmrefine_agent.cli.render import scores_table, usage_table
    from mmrefine_agent.config import load_config
    from mmrefine_agent.runner import Runner

    overrides = list(args.overrides)
    if args.limit is not None:
        overrides.append(f"data.limit={args.limit}")
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    config = load_config(Path(args.config), overrides)
    out = Path(args.out) if args.out else Path(config.run.out_dir) / config.name
    plugins = _plugins(args)
    progress = RunProgress(console, enabled=not args.quiet)
    runner = Runner(config, plugins, out, restart=args.restart, on_event=progress.event)
    progress.usage = runner.usage
    with progress:
        outcome = asyncio.run(runner.run())
    if outcome.scores is not None:
        console.print(
            scores_table(
                outcome.scores,
                title=f"{config.name}: {config.strategy.name} "
                f"x {config.model.name} - judge {config.judge.name}"
                + (" (PROXY)" if outcome.scores.get("is_proxy") else ""),
            )
        )
    console.print(usage_table(outcome.usage))
    console.print(
        f"run directory: [bold]{outcome.run_dir}[/]  items {outcome.n_items}, "
        f"done {outcome.n_done}, failed {outcome.n_errors}, "
        f"{outcome.elapsed_s:.1f}s",
        highlight=False,
    )
    if outcome.errors:
        console.print(
            f"[yellow]{len(outcome.errors)} item(s) failed; they are recorded in "
            "results.jsonl and redone when you run again with the same --out:[/]"
        )
        for line in outcome.errors[:5]:
            console.print(f"  {line}", markup=False, highlight=False)
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    """``mmrefine judge RUN_DIR``: re-judge without refinement calls."""
    from mmrefine_agent.cli.render import scores_table, usage_table
    from mmrefine_agent.rejudge import rejudge_run, score_submission

    plugins = _plugins(args)
    if args.submission:
        out = (
            Path(args.out)
            if args.out
            else Path("runs") / f"submission-{Path(args.submission).stem}"
        )
        outcome = asyncio.run(
            score_submission(
                Path(args.submission),
                out,
                plugins,
                overrides=args.overrides,
                data_dir=args.data_dir,
            )
        )
    else:
        if not args.run_dir:
            raise RunDirError("give a RUN_DIR, or --submission FILE")
        outcome = asyncio.run(
            rejudge_run(Path(args.run_dir), plugins, overrides=args.overrides, force=args.all)
        )
    if outcome.scores is not None:
        console.print(scores_table(outcome.scores))
    console.print(usage_table(outcome.usage))
    console.print(f"run directory: [bold]{outcome.run_dir}[/]", highlight=False)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``mmrefine report RUN_DIR``: scores and breakdowns."""
    from mmrefine_agent.cli.render import breakdown_table, scores_table, usage_table
    from mmrefine_agent.rundir import RunDir

    run = RunDir(Path(args.run_dir)).require()
    scores = run.scores()
    if args.json:
        print(json.dumps(scores, indent=2))
        return 0
    if not scores.get("overall"):
        console.print("this run was not judged: `mmrefine judge RUN_DIR --set judge.name=offline`")
        return 0
    console.print(scores_table(scores))
    for by in args.by:
        console.print(breakdown_table(scores, by))
    if scores.get("usage"):
        console.print(usage_table(scores["usage"]))
    return 0


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
    console.print(table)
    hooks = sorted(name for name in dir(plugins.pm.hook) if name.startswith("mmrefine_"))
    console.print(f"hooks: {', '.join(hooks)}", highlight=False)
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """``mmrefine data info|download``."""
    from mmrefine_agent.cli.render import print_counts
    from mmrefine_agent.datadir import resolve_data_dir
    from mmrefine_agent.dataset import count_by, load_items

    if args.action == "download":
        from mmrefine_agent.download import download_data

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
