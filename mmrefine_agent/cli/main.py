"""Entry point of ``mmrefine``: argument parsing only; commands import what they need lazily.

Keeping heavy imports (litellm, langgraph) out of this module keeps ``--help``, ``report``
and ``trace`` fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def add_run_options(parser: argparse.ArgumentParser, *, set_help: str, restart_help: str) -> None:
    """The options ``run`` and ``sweep`` share (limit, out, --set, data dir, restart, quiet)."""
    parser.add_argument("--limit", type=int, default=None, help="at most N items (per run)")
    parser.add_argument("--out", default=None, help="output directory (default: run.out_dir/NAME)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=set_help,
    )
    parser.add_argument("--data-dir", default=None, help="benchmark data directory")
    parser.add_argument("--restart", action="store_true", help=restart_help)
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar; a run prints only its directory, headline figures and what is "
        "missing",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="mmrefine",
        description="Refinement research on MMRefine: run strategies, judge, report, trace.",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (or a .py file) as an extra plugin (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plugin_option = argparse.ArgumentParser(add_help=False)
    plugin_option.add_argument(
        "--plugin",
        dest="sub_plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (or a .py file) as an extra plugin (repeatable)",
    )

    run = sub.add_parser(
        "run", parents=[plugin_option], help="refine + judge; writes a run directory"
    )
    run.add_argument("config", help="YAML run config")
    add_run_options(
        run,
        set_help="override a config key, e.g. strategy.max_rounds=2",
        restart_help="discard an existing run in --out",
    )

    sweep = sub.add_parser(
        "sweep", parents=[plugin_option], help="a grid of runs (the config's grid: section)"
    )
    sweep.add_argument("config", help="YAML config with a grid: section")
    add_run_options(
        sweep,
        set_help="override a config key for every cell (grid.KEY=[...] sets an axis)",
        restart_help="discard existing cell runs",
    )
    sweep.add_argument(
        "--include-gold",
        action="store_true",
        help="rank cells whose strategy used the gold answer with the others (marked)",
    )
    sweep.add_argument(
        "--html", default=None, metavar="FILE", help="write the sweep's HTML report (and cells')"
    )
    sweep.add_argument("--baseline", default=None, metavar="CELL", help="with --html: baseline")

    compare = sub.add_parser(
        "compare", parents=[plugin_option], help="runs side by side, with paired differences"
    )
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="two or more run dirs")
    compare.add_argument(
        "--changed", type=int, default=20, metavar="N", help="list up to N changed items"
    )
    compare.add_argument(
        "--json", action="store_true", help="print the comparison as JSON (a Comparison)"
    )
    compare.add_argument(
        "--include-gold",
        action="store_true",
        help="compare runs whose strategy used the gold answer too (marked)",
    )

    judge = sub.add_parser(
        "judge",
        parents=[plugin_option],
        help="(re-)judge a run without calling the refinement model",
    )
    judge.add_argument("run_dir", nargs="?", help="a run directory")
    judge.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override judge settings, e.g. judge.name=offline",
    )
    judge.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="a config of yours whose judge: section replaces the run's (other sections unused)",
    )
    judge.add_argument(
        "--trust-run-config",
        action="store_true",
        help="use the run's own judge endpoint, key variable and options (config.yaml is data: "
        "without this, settings that route requests must come from --set or --config)",
    )
    judge.add_argument("--all", action="store_true", help="re-judge every item, not only missing")
    judge.add_argument(
        "--submission",
        default=None,
        help="score an official-format submission file instead of a run",
    )
    judge.add_argument("--out", default=None, help="with --submission: run directory to write")
    judge.add_argument("--data-dir", default=None, help="benchmark data directory")
    judge.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar; print only the run directory, headline figures and what is missing",
    )

    report = sub.add_parser("report", parents=[plugin_option], help="print a run's scores")
    report.add_argument("run_dir", help="a run directory, or a sweep directory (with --html)")
    report.add_argument(
        "--by",
        choices=[
            "error_type",
            "solution_source",
            "modality",
            "round",
            "localisation",
            "category",
            "tool",
        ],
        action="append",
        default=[],
        help="add a breakdown (repeatable); 'round' adds transitions, settling rounds and answer "
        "accuracy per round, 'localisation' the flagged step vs the reference step, "
        "'category' the step metrics per category (error class, task, subject), 'tool' each tool's "
        "calls, failures, items and the scenario rates of items with and without it",
    )
    report.add_argument(
        "--json",
        action="store_true",
        help="print scores.json (a Scores) as JSON; with --by tool, the tool report (a ToolReport) "
        "under 'by_tool' beside its fields",
    )
    report.add_argument("--plots", default=None, metavar="DIR", help="write PNG plots into DIR")
    report.add_argument(
        "--html", default=None, metavar="FILE", help="write a self-contained HTML report"
    )
    report.add_argument(
        "--baseline",
        default=None,
        metavar="CELL",
        help="sweep report: the cell the others are compared with (default: the first)",
    )

    trace = sub.add_parser("trace", parents=[plugin_option], help="one item, step by step")
    trace.add_argument("run_dir")
    trace.add_argument("item_key", nargs="?", help="an item key (leave out to list the items)")
    trace.add_argument("--full", action="store_true", help="show whole prompts and answers")

    plugins = sub.add_parser(
        "plugins",
        parents=[plugin_option],
        help="backends, strategies, judges and datasets loaded, and from where",
    )
    plugins.add_argument(
        "--json", action="store_true", help="print the listing as JSON (a PluginListing)"
    )

    graph = sub.add_parser(
        "graph", parents=[plugin_option], help="draw a strategy's compiled graph"
    )
    graph.add_argument("strategy", help="a registered strategy name")
    graph.add_argument("--mermaid", action="store_true", help="print Mermaid text")
    graph.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="strategy settings, e.g. strategy.max_rounds=3",
    )

    config = sub.add_parser("config", help="the config keys: type, default and meaning")
    config.add_argument("--keys", action="store_true", help="list every key (the default)")
    config.add_argument("--markdown", action="store_true", help="as Markdown (docs/config.md)")

    data = sub.add_parser("data", parents=[plugin_option], help="benchmark data: info | download")
    data.add_argument("action", choices=["info", "download"])
    data.add_argument("--data-dir", default=None)
    data.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="select a dataset or slice, e.g. data.name=prmbench, data.filter.label=correct",
    )
    return parser


def lift_plugins(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(plugin modules, the other arguments)``: ``--plugin M`` is taken from any position.

    Every command accepts ``--plugin`` before or after its name and between its positional
    arguments (``compare A --plugin p.py B``); arguments after ``--`` are left alone.
    """
    modules: list[str] = []
    rest: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg == "--plugin" and i + 1 < len(args):
            modules.append(args[i + 1])
            i += 2
            continue
        if arg.startswith("--plugin="):
            modules.append(arg.removeprefix("--plugin="))
        else:
            rest.append(arg)
        i += 1
    return modules, rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    modules, rest = lift_plugins(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(rest)
    args.plugin = [*modules, *(getattr(args, "plugin", None) or [])]
    from mmrefine_agent import MMRefineError
    from mmrefine_agent.cli import commands

    try:
        handler = getattr(commands, f"cmd_{args.command}")
        return int(handler(args) or 0)
    except MMRefineError as exc:
        from rich.console import Console
        from rich.text import Text

        from mmrefine_agent import scrub_text
        from mmrefine_agent.cli.safe_text import safe

        message = safe(scrub_text(str(exc)))
        Console(stderr=True).print(Text("error: ", style="bold red") + Text(message))
        return 2
    except (OSError, UnicodeDecodeError) as exc:  # a full disk, a read-only dir, a bad file
        from mmrefine_agent import scrub_text
        from mmrefine_agent.cli.safe_text import safe

        where = getattr(exc, "filename", None)
        reason = getattr(exc, "strerror", None) or str(exc)
        text = f"{where}: {reason}" if where else reason
        print(f"error: {safe(scrub_text(text))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: finished items are saved; run again with the same --out to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
