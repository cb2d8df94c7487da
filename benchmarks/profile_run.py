"""Where the framework's own time goes: ``mmrefine run`` of the paper protocol under cProfile.

The loopback server (``tests/fake_openai.py``, its own process) answers like a refiner and the
official judge. Modes:

- ``cached`` (default): a first run fills a fresh call cache (in a subprocess, not profiled),
  then the cached rerun into a new run directory is profiled in this process (0 calls: all of
  it is framework work, imports included);
- ``direct``: the full protocol through the ``openai_compat`` backend, cache off, profiled.

Prints wall and CPU seconds of the profiled command, then the top functions by own time and
by cumulative time (``--sort``), and writes the raw profile for snakeviz/pstats (``--save``).

    python benchmarks/profile_run.py [--mode cached|direct] [--limit 800] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import BIN, ROOT, run_args, start_server


def time_command(argv: list[str], tmp: Path, repeats: int) -> None:
    """Run the command ``repeats`` times (each into a new run directory); print the spread."""
    walls, cpus = [], []
    out = argv.index("--out") + 1
    for n in range(repeats):
        args = [str(BIN / "mmrefine"), *argv]
        args[out + 1] = str(tmp / f"timed-{n}")
        before = os.times()
        started = time.perf_counter()
        subprocess.run(args, check=True, cwd=ROOT, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = os.times()
        cpus.append(after.children_user - before.children_user
                    + after.children_system - before.children_system)  # fmt: skip
    walls.sort()
    cpus.sort()
    print(f"{repeats} runs: wall min {walls[0]:.2f} median {walls[len(walls) // 2]:.2f} "
          f"max {walls[-1]:.2f} s; CPU min {cpus[0]:.2f} median {cpus[len(cpus) // 2]:.2f} "
          f"max {cpus[-1]:.2f} s")  # fmt: skip


def main() -> None:
    """Profile one command and print the top costs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["cached", "direct"], default="cached")
    parser.add_argument("--limit", type=int, default=None, help="items (default: all 800)")
    parser.add_argument("--latency", type=float, default=None, help="server latency (s)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", choices=["tottime", "cumulative", "both"], default="both")
    parser.add_argument("--save", default=None, metavar="FILE", help="write the raw profile")
    parser.add_argument(
        "--time", type=int, default=0, metavar="N",
        help="no profile: time the command N times as a subprocess (wall and CPU spread)",
    )  # fmt: skip
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
        help="a config override for the profiled command (e.g. run.processes=1), repeatable",
    )  # fmt: skip
    args = parser.parse_args()
    latency = args.latency if args.latency is not None else (0.0 if args.mode == "cached" else 0.1)
    server, url = start_server(latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
            os.environ.setdefault("MMREFINE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
            limit = ["--limit", str(args.limit)] if args.limit else []
            backend = "openai_compat"
            if args.mode == "cached":
                fill = run_args(url, Path(tmp) / "fill", args.concurrency, backend=backend,
                                cache=True)  # fmt: skip
                subprocess.run([*fill, *limit], check=True, cwd=ROOT, capture_output=True)
                argv = run_args(url, Path(tmp) / "rerun", args.concurrency, backend=backend,
                                cache=True)  # fmt: skip
            else:
                argv = run_args(url, Path(tmp) / "direct", args.concurrency, backend=backend)
            overrides = [part for item in args.overrides for part in ("--set", item)]
            argv = [*argv[1:], *limit, *overrides]
            if args.time:
                time_command(argv, Path(tmp), args.time)
                return
            os.chdir(ROOT)
            assert Path(BIN / "mmrefine").exists()
            from mmrefine_agent.cli.main import main as cli_main

            profile = cProfile.Profile()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            profile.enable()
            code = cli_main(argv)
            profile.disable()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)
    print(f"\n{args.mode}: exit {code}, {wall:.2f} s wall, {cpu:.2f} s CPU (under cProfile)\n")
    stats = pstats.Stats(profile)
    if args.save:
        stats.dump_stats(args.save)
    stats.strip_dirs()
    for key in ("tottime", "cumulative") if args.sort == "both" else (args.sort,):
        print(f"--- top {args.top} by {key} ---")
        stats.sort_stats(key).print_stats(args.top)


if __name__ == "__main__":
    main()
