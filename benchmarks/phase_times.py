"""Where one ``mmrefine run`` spends its wall time, phase by phase, without a profiler's skew.

Runs the paper protocol in this process against the loopback server (``tests/fake_openai.py``)
with timers around the run engine's phases: imports, loading the data, compiling the graph,
the executor (graphs, model calls), finishing (scores, step metrics, submission), printing.
``--mode cached`` first fills a fresh call cache (not timed), then times
the cached rerun; ``--mode direct`` times a run with the cache off. Prints seconds per phase
for each of ``--repeats`` runs.

    python benchmarks/phase_times.py [--mode cached|direct] [--repeats 3] [--limit N]
                                     [--set run.processes=1 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scale import ROOT, run_args, start_server

PHASES = (
    ("mmrefine_agent.engine.run", "load_data", "load data"),
    ("mmrefine_agent.engine.run", "load_plugins", "load plugins"),
    ("mmrefine_agent.engine.run", "check_strategy", "strategy and graph"),
    ("mmrefine_agent.engine.run", "open_session", "session (clients, judge)"),
    ("mmrefine_agent.engine.run", "finish_run", "finish (scores, files)"),
    ("mmrefine_agent.engine.executors.local", "LocalExecutor.execute", "executor (graphs, calls)"),
    (
        "mmrefine_agent.engine.executors.processes",
        "ProcessExecutor.execute",
        "executor, processes (graphs, calls)",
    ),
)


def timed(spent: dict[str, float], label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` adding its wall time to ``spent[label]`` (coroutines awaited)."""
    if asyncio.iscoroutinefunction(function):

        async def waiting(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        return waiting

    def plain(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

    return plain


def instrument(spent: dict[str, float]) -> None:
    """Wrap every phase of :data:`PHASES` (module functions and methods)."""
    for module_name, attribute, label in PHASES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, timed(spent, label, getattr(owner, name)))


def main() -> None:
    """Time the phases and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["cached", "direct"], default="cached")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="a config override for the timed runs (e.g. run.processes=1)",
    )  # fmt: skip
    args = parser.parse_args()
    started = time.perf_counter()
    from mmrefine_agent.cli.main import main as cli_main
    from mmrefine_agent.engine import run as _engine  # noqa: F401  (timed as an import)

    imports_s = time.perf_counter() - started
    spent: dict[str, float] = {}
    instrument(spent)
    server, url = start_server(args.latency)
    limit = ["--limit", str(args.limit)] if args.limit else []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
            os.environ.setdefault("MMREFINE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
            os.chdir(ROOT)  # the configs are named relative to the checkout
            cache = args.mode == "cached"

            def command(out: str, timed: bool = True) -> list[str]:
                sets = [x for s in args.set for x in ("--set", s)] if timed else []
                return [*run_args(url, Path(tmp) / out, 64, backend="openai_compat",
                                  cache=cache)[1:], *limit, *sets]  # fmt: skip

            if cache:
                with contextlib.redirect_stdout(io.StringIO()):
                    run_cli(cli_main, command("fill", timed=False))
            for n in range(args.repeats):
                spent.clear()
                begun = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    run_cli(cli_main, command(f"timed-{n}"))
                total = time.perf_counter() - begun
                shown = ", ".join(f"{k} {v:.3f}" for k, v in spent.items())
                rest = total - sum(spent.values())  # no timed phase runs inside another
                print(f"run {n + 1}: {total:.3f} s in the command ({shown}; everything else "
                      f"{rest:.3f})")  # fmt: skip
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)
    print(f"imports before the first command (cli and run engine): {imports_s:.3f} s")


def run_cli(cli_main: Callable[[], Any], argv: list[str]) -> None:
    """One ``mmrefine`` command in this process (its exit status is ignored)."""
    sys.argv = ["mmrefine", *argv]
    with contextlib.suppress(SystemExit):
        cli_main()


if __name__ == "__main__":
    main()
