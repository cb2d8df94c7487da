"""What the observers cost: a cached scripted run with each of them on, and with none.

The paper protocol over ``--items`` items, the ``scripted`` backend and the offline judge, with
the call cache on. One unmeasured run fills the cache; then every variant runs into a new run
directory, in a fresh process each time (so the observers' imports are paid, as a user pays
them): ``none``; ``wandb`` in offline mode (its files under the run directory, W&B's own
directories in a temporary one); ``otel`` to a loopback OTLP/HTTP receiver in its own process
(``tests/otlp_receiver.py --quiet``); ``both``. Two cached shapes: items replayed whole (the
default, ``run.replay: true``) and every graph run with its calls answered by the cache
(``run.replay: false``). Printed per variant: the median seconds of ``run()`` over
``--repeats``, the difference from ``none`` in seconds and per item, and the whole process.
Nothing is asserted.

    python benchmarks/observers.py [--items 800] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "data" / "script_single_pass.yaml"

CHILD = """
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from mmrefine_agent import load_config, run
config = load_config(Path("configs/paper_single_pass.yaml"), json.loads(sys.argv[1]))
begin, cpu = time.perf_counter(), time.process_time()
outcome = run(config, sys.argv[2])
end = time.perf_counter()
print(json.dumps({"run_s": end - begin, "cpu_s": time.process_time() - cpu,
                  "process_s": end - started, "complete": outcome.complete,
                  "errors": outcome.errors}))
"""

VARIANTS = {
    "none": [],
    "wandb": ["observers.wandb.mode=offline", "observers.wandb.project=bench"],
    "otel": ["observers.otel.endpoint={otel}"],
    "both": [
        "observers.wandb.mode=offline",
        "observers.wandb.project=bench",
        "observers.otel.endpoint={otel}",
    ],
}


def one_run(overrides: list[str], out: Path, env: dict[str, str]) -> dict[str, float]:
    """One session in a fresh process; its timings."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(overrides), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"run failed: {done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if not figures["complete"] or figures["errors"]:
        raise RuntimeError(f"run incomplete: {figures}")
    return figures


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100, 800])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=180)
    receiver = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "otlp_receiver.py"), "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert receiver.stdout is not None and receiver.stdin is not None
    otel = f"http://127.0.0.1:{int(receiver.stdout.readline().split()[1])}"
    small, large = sorted(args.sizes)
    with tempfile.TemporaryDirectory(prefix="mmrefine-observers-") as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "XDG_CACHE_HOME": str(work / "cache"),
            "WANDB_DATA_DIR": str(work / "wandb" / "data"),
            "WANDB_CACHE_DIR": str(work / "wandb" / "cache"),
            "WANDB_CONFIG_DIR": str(work / "wandb" / "config"),
        }
        base = ["model.backend=scripted", f"model.options.script={SCRIPT}", "judge.name=offline"]
        one_run([*base, f"data.limit={large}"], work / "warm", env)  # fills the call cache
        table = Table(title=f"observers on a cached scripted run (median of {args.repeats}, "
                            "a fresh process each)")  # fmt: skip
        table.add_column("observers")
        for size in (small, large):
            table.add_column(f"{size} items\nwall s (+)", justify="right")
            table.add_column(f"{size} items\nCPU s (+)", justify="right")
        for column in ("once\nwall s", "per item\nwall ms", "once\nCPU s", "per item\nCPU ms"):
            table.add_column(column, justify="right")
        medians: dict[tuple[str, int, str], float] = {}
        for name, overrides in VARIANTS.items():
            for size in (small, large):
                settings = [*base, f"data.limit={size}",
                            *(o.format(otel=otel) for o in overrides)]  # fmt: skip
                runs = [one_run(settings, work / f"{name}-{size}-{i}", env)
                        for i in range(args.repeats)]  # fmt: skip
                for figure in ("run_s", "cpu_s"):
                    medians[name, size, figure] = statistics.median(r[figure] for r in runs)
            cells: list[str] = []
            costs: list[str] = []
            for figure in ("run_s", "cpu_s"):
                extra = {n: medians[name, n, figure] - medians["none", n, figure]
                         for n in (small, large)}  # fmt: skip
                per_item = (extra[large] - extra[small]) / (large - small)
                costs += [f"{extra[small] - per_item * small:+.2f}", f"{1000 * per_item:+.2f}"]
            for size in (small, large):
                for figure in ("run_s", "cpu_s"):
                    value = medians[name, size, figure]
                    cells.append(f"{value:.2f} ({value - medians['none', size, figure]:+.2f})")
            table.add_row(name, *cells, *costs)
        console.print(table)
    receiver.stdin.close()
    console.print(f"spans received by the loopback collector: {receiver.stdout.read().strip()}")
    receiver.wait()


if __name__ == "__main__":
    main()
