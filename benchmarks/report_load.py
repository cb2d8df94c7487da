"""Size and load time of the HTML report of a full 800-item, 3-round run.

Builds the run with the scripted backend (answers from ``tests/data/script_multi_round.yaml``,
every node of ``multi_round`` for 3 rounds) judged per round by the offline judge, writes
``mmrefine report RUN --html``, then opens the page in headless Chromium (Debian's
``/usr/bin/chromium`` through playwright) several times and prints the file size, how long
the report took to write, and two times measured by the browser itself: ``load`` (navigation
start to the end of the load event: the file read and parsed, KaTeX and the report's scripts
run, the table of 800 items and the gallery built) and ``open a trace`` (a click on one item to
its trace painted: the trace parsed from its block, math rendered; the first opening also
parses the shared paragraph table). Nothing is asserted; the figures are printed.

    python benchmarks/report_load.py [--rounds 3] [--repeats 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCRIPT = ROOT / "tests" / "data" / "script_multi_round.yaml"


def mmrefine(*args: str) -> float:
    """Run the CLI; returns its wall time (raises on failure)."""
    start = time.perf_counter()
    exe = shutil.which("mmrefine", path=str(BIN)) or "mmrefine"
    done = subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise RuntimeError(f"mmrefine {args[0]} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


_LOAD_MS = """() => { const t = performance.getEntriesByType("navigation")[0];
  return t.loadEventEnd - t.startTime; }"""
_OPEN_MS = """(i) => new Promise((done) => { const t = performance.now();
  document.querySelectorAll("#items tbody tr")[i].click();
  requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t))); })"""


def load_times(page_path: Path, repeats: int) -> tuple[list[float], list[float]]:
    """(load-event times, first-trace times) in seconds over ``repeats`` fresh pages."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    loads, traces, index = [], [], 400
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for _ in range(repeats):
                page = browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(page_path.as_uri(), wait_until="load")
                page.locator("#items tbody tr").nth(799).wait_for(state="attached")
                # navigation start -> end of the load event, measured by the browser itself
                loads.append(page.evaluate(_LOAD_MS) / 1000)
                traces.append(page.evaluate(_OPEN_MS, index) / 1000)
                index += 97
                if errors:
                    raise RuntimeError(f"page errors: {errors}")
                page.close()
        finally:
            browser.close()
    return loads, traces


def main() -> None:
    """Build the run, write the report, print its size and load times."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", default=None, help="build the run here and keep it")
    args = parser.parse_args()
    console = Console()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-load-"))
    run, page_path = work / "run", work / "report.html"
    try:
        if not (run / "scores.json").is_file():
            run_s = mmrefine(
                "run", "configs/sweep_rounds.yaml", "--out", str(run), "--quiet",
                "--set", "data.limit=null", "--set", "data.balanced=false",
                "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
                "--set", f"strategy.max_rounds={args.rounds}", "--set", "run.cache=false",
                "--set", "grid={}",
            )  # fmt: skip
            console.print(f"built the 800-item run in {run_s:.1f} s: {run}", highlight=False)
        write_s = mmrefine("report", str(run), "--html", str(page_path))
        size = page_path.stat().st_size
        loads, traces = load_times(page_path, args.repeats)
        table = Table(title=f"HTML report of an 800-item, {args.rounds}-round run")
        for column in ("figure", "value"):
            table.add_column(column)
        table.add_row("file size", f"{size / 1e6:.1f} MB ({size:,} bytes)")
        table.add_row("mmrefine report --html (whole command)", f"{write_s:.2f} s")
        table.add_row(
            f"load in headless Chromium (median of {len(loads)})",
            f"{statistics.median(loads):.2f} s (min {min(loads):.2f}, max {max(loads):.2f})",
        )
        table.add_row(
            "open one item's trace (first page / median)",
            f"{traces[0]:.3f} s / {statistics.median(traces):.3f} s",
        )
        console.print(table)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
