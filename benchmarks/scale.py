"""The full paper-protocol run at scale, next to the same calls issued by simpler clients.

A loopback OpenAI-compatible server (``tests/fake_openai.py``, in its own process, 100 ms per
request, answering like a refiner and the official judge) stands in for the provider. Measured:

1. ``mmrefine run configs/paper_single_pass.yaml`` on all 800 items with the official judge
   (800 refinement + 2,399 judge calls), concurrency 64, cache off (so every call is made):
   wall time (whole command, and the run itself), calls/s, CPU seconds per call, peak memory;
   through the ``litellm`` backend and through the direct ``openai_compat`` one, each in one
   process;
2. the same command with the cache on, into new run directories: the first fills a fresh
   cache (identical judge prompts are answered once), the next ``--repeats`` are the cached
   rerun (each must make zero calls: every item's graph, judge and scoring run, every call is
   answered by the call cache; the figure is their median, with the spread: second-long
   commands vary a lot here);
3. ``mmrefine --help``, ``mmrefine report RUN`` and the run engine's import;
4. ``run.executor: ray`` (Ray started by the run on this machine: both cores, one worker per
   core), the same command through litellm: its wall time, the most requests the server held
   at once (it must stay within the configured concurrency per model), and Ray's start-up
   cost measured on its own (``benchmarks/ray_probe.py``: ``ray.init`` and the workers up,
   their sessions built, and what a model call pays to the shared limits);
5. scaling: the 800 items repeated 10 times with distinct keys (8,000 items, a data directory
   written for the benchmark): the cached rerun (0 calls: every prompt is one of the 800's),
   resuming the finished run (nothing to do: resume, scoring and files only) and ``report``,
   each for 800 and for 8,000 items, with the 8,000/800 ratio (target: 10x, not more);
6. the very same 3,199 request bodies (a) one at a time with the OpenAI SDK, as the official
   evaluator does (a sample, extrapolated, unless ``--sequential-all``), (b) by bare
   ``litellm.acompletion`` under a semaphore of 64, (c) by a bare aiohttp client, 64 at a time.

The project's sources are byte-compiled first (as ``pip install`` leaves them; this machine
sets PYTHONDONTWRITEBYTECODE). Every figure is printed next to its target (issue 15); none is
asserted anywhere.

    python benchmarks/scale.py [--latency 0.1] [--concurrency 64] [--sequential-sample 200]
                               [--copies 10] [--no-scaling] [--no-ray] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The loopback server in its own process; returns it and its /v1 URL."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fake_openai.py"), "--latency", str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT / "tests",
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        raise RuntimeError(f"server did not start: {line!r}")
    return process, f"http://127.0.0.1:{int(line.split()[1])}/v1"


def get_json(url: str) -> Any:
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=60) as reply:
        return json.loads(reply.read())


def timed_command(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run a command; wall seconds, CPU seconds (user+sys) and its own peak RSS in MB."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-3000:]
            raise RuntimeError(f"{' '.join(args[:3])} failed ({process.returncode}):\n{tail}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # this command's own peak (wait4)
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time, with the spread of all (``min_s``, ``max_s``, ``n``)."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    middle = dict(ordered[len(ordered) // 2])
    middle.update(min_s=ordered[0]["wall_s"], max_s=ordered[-1]["wall_s"], n=len(ordered))
    return middle


def spread(figure: dict[str, float]) -> str:
    """``median of N (min .. max)`` for a figure made by :func:`median_of`."""
    return f"median of {figure['n']:.0f} ({figure['min_s']:.2f}-{figure['max_s']:.2f} s)"


def run_args(
    url: str,
    out: Path,
    concurrency: int,
    *,
    backend: str = "litellm",
    cache: bool = False,
    executor: str = "local",
) -> list[str]:
    """``mmrefine run`` of the paper protocol against the loopback server."""
    return [
        str(BIN / "mmrefine"), "run", "configs/paper_single_pass.yaml", "--out", str(out),
        "--quiet",
        "--set", f"model.backend={backend}",
        "--set", "model.name=openai/refiner",
        "--set", f"model.api_base={url}",
        "--set", f"judge.backend={backend}",
        "--set", "judge.model=openai/judge",
        "--set", f"judge.api_base={url}",
        "--set", f"run.cache={str(cache).lower()}",
        "--set", f"run.concurrency={concurrency}",
        "--set", f"judge.concurrency={concurrency}",
        "--set", f"run.executor={executor}",
    ]  # fmt: skip


def repeated_data(source: Path, target: Path, copies: int) -> Path:
    """A data directory with the benchmark's rows ``copies`` times, each copy with new keys."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(source / "MMRefine_test.parquet")
    parts = []
    for copy in range(copies):
        ids = [f"{value}" if copy == 0 else f"{value}~{copy}" for value in table["id"].to_pylist()]
        parts.append(table.set_column(table.schema.get_field_index("id"), "id", pa.array(ids)))
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.concat_tables(parts), target / "MMRefine_test.parquet")
    shutil.copy(source / "mmrefine_official_prompts.json", target)
    return target


def byte_compile() -> None:
    """Compile the project's sources once, as an installed package has them.

    This machine sets PYTHONDONTWRITEBYTECODE=1, so an editable checkout would otherwise
    compile every module on every command; ``pip install .`` writes the .pyc files.
    """
    import compileall

    for part in ("mmrefine_agent", "plugins", "strategies"):
        compileall.compile_dir(str(ROOT / part), quiet=1)


def n_results(out: Path) -> int:
    """Items with a result line in a run directory."""
    with (out / "results.jsonl").open("rb") as handle:
        return sum(1 for _ in handle)


def scaling_rows(
    url: str, tmp: Path, env: dict[str, str], concurrency: int, copies: int
) -> tuple[list[tuple[str, ...]], dict[str, float]]:
    """Cached run, resume of a finished run and report, for 800 and for ``copies`` x 800 items.

    The call cache is filled by an 800-item run first (not measured), so both sizes make
    0 calls: the figures are the framework's own work, which must grow linearly.
    """
    base = Path(env["MMREFINE_DATA_DIR"])
    sizes = {"800": base, f"{800 * copies}": repeated_data(base, tmp / "data-x", copies)}
    fill = run_args(url, tmp / "scale-fill", concurrency, backend="openai_compat", cache=True)
    timed_command(fill, env)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for size, data_dir in sizes.items():
        out = tmp / f"scale-{size}"
        args = [*run_args(url, out, concurrency, backend="openai_compat", cache=True),
                "--data-dir", str(data_dir)]  # fmt: skip
        figures[size] = {
            "cached run": timed_command(args, env),
            "resume (finished run)": timed_command(args, env),
            "report": timed_command([str(BIN / "mmrefine"), "report", str(out)], env),
        }
        figures[size]["cached run"]["calls"] = total_calls(out)
        figures[size]["cached run"]["items"] = n_results(out)
    small, large = figures["800"], figures[f"{800 * copies}"]
    rows: list[tuple[str, ...]] = []
    ratios: dict[str, float] = {}
    for what in small:
        for size, figure in (("800", small[what]), (f"{800 * copies}", large[what])):
            note = ""
            if what == "cached run":
                note = f"{figure['items']:.0f} items, {figure['calls']:.0f} calls"
            rows.append((f"scaling: {what}, {size} items", f"{figure['wall_s']:.2f}", "",
                         "", f"{figure['peak_mb']:.0f}", note,
                         f"{copies}x the 800 figure" if size != "800" else ""))  # fmt: skip
        ratio = large[what]["cpu_s"] / max(small[what]["cpu_s"], 1e-9)
        ratios[what] = ratio
        rows.append((f"  {800 * copies}/800 ({what})", f"{ratio:.1f}x CPU", "", "", "",
                     f"wall {large[what]['wall_s'] / small[what]['wall_s']:.1f}x",
                     f"<= {copies}x"))  # fmt: skip
    return rows, ratios


def run_elapsed(out: Path) -> float | None:
    """The run's own elapsed seconds (after start-up), as recorded in usage.json."""
    usage = json.loads((out / "usage.json").read_text())
    value = usage.get("elapsed_s")
    return float(value) if value is not None else None


def total_calls(out: Path) -> int:
    """Refinement + judge calls made by a run (cache hits excluded)."""
    usage = json.loads((out / "usage.json").read_text())
    return int(usage["refine"]["calls"]) + int(usage["judge"]["calls"])


async def bare_litellm(url: str, bodies: list[dict[str, Any]], limit: int) -> float:
    """Bare litellm.acompletion under a semaphore; returns wall seconds (import excluded)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    semaphore = asyncio.Semaphore(limit)

    async def one(body: dict[str, Any]) -> None:
        async with semaphore:
            await litellm.acompletion(
                model="openai/" + str(body.get("model", "x")),
                messages=body["messages"],
                api_base=url,
                api_key="no-key",
                num_retries=0,
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    return time.perf_counter() - started


async def bare_aiohttp(url: str, bodies: list[dict[str, Any]], limit: int) -> float:
    """A bare aiohttp client, ``limit`` connections; returns wall seconds."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=limit)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: dict[str, Any]) -> None:
            async with session.post(f"{url}/chat/completions", json=body) as reply:
                await reply.json()

        await asyncio.gather(*(one(b) for b in bodies))
    return time.perf_counter() - started


def sequential_openai(url: str, bodies: list[dict[str, Any]]) -> float:
    """One call after another with the OpenAI SDK (the official evaluator's way)."""
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key="no-key", max_retries=0)
    started = time.perf_counter()
    for body in bodies:
        client.chat.completions.create(model=str(body.get("model", "x")), messages=body["messages"])
    return time.perf_counter() - started


def cpu_during(fn: Any) -> tuple[float, float]:
    """(wall seconds returned by fn, CPU seconds of this process while it ran)."""
    cpu_before = time.process_time()
    wall = fn()
    return wall, time.process_time() - cpu_before


def ray_figures(url: str, tmp: Path, concurrency: int, env: dict[str, str]) -> dict[str, Any]:
    """The full run with ``run.executor: ray``, the server's in-flight peaks, Ray's start-up."""
    console = Console()
    console.print("Ray start-up on its own (benchmarks/ray_probe.py) ...")
    probe = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ray_probe.py")],
        env=env, capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    startup = json.loads(probe.stdout.strip().splitlines()[-1])
    console.print("full run through litellm, run.executor=ray, cache off ...")
    get_json(f"{url}/_stats?reset=1")
    out = tmp / "run-ray"
    figures = timed_command(run_args(url, out, concurrency, executor="ray"), env)
    stats = get_json(f"{url}/_stats")
    get_json(f"{url}/_requests?reset=1")
    return {**figures, "calls": total_calls(out), "peaks": stats["max_in_flight"], **startup}


def ray_rows(ray: dict[str, Any]) -> list[tuple[str, ...]]:
    """Table rows for the Ray executor."""
    ready = ray["init_s"] + ray["open_s"]
    run_s = ray["wall_s"] - ready
    return [
        (f"mmrefine run, litellm, executor ray, {ray['workers']} workers (whole)",
         f"{ray['wall_s']:.1f}", f"{ray['calls'] / ray['wall_s']:.0f}",
         "", "",  # Ray's workers are not this process's children: their CPU is not counted
         f"{ray['calls']} calls; server peak in flight {ray['peaks']}", "<= 1.25x (b)"),
        ("  minus Ray start-up (measured on its own)", f"{run_s:.1f}",
         f"{ray['calls'] / run_s:.0f}", "", "",
         f"start-up {ready:.1f}s = ray.init + workers {ray['init_s']:.1f}s, sessions "
         f"{ray['open_s']:.1f}s", ""),
    ]  # fmt: skip


def ray_report(console: Console, ray: dict[str, Any], litellm_s: float, limit: int) -> None:
    """The Ray executor against bare litellm, and the limits it kept."""
    ready = ray["init_s"] + ray["open_s"]
    peaks = {k: v for k, v in ray["peaks"].items() if k != "*"}
    kept = all(v <= limit for v in peaks.values())
    console.print(
        f"executor ray / (b) bare litellm: {ray['wall_s'] / litellm_s:.2f}x whole command, "
        f"{(ray['wall_s'] - ready) / litellm_s:.2f}x without Ray start-up (target <= 1.25x); "
        f"server peak in flight per model {peaks} (limit {limit} each: "
        f"{'kept' if kept else 'EXCEEDED'}); a call waits {ray['limit_call_ms']:.2f} ms when "
        f"it must lease its permit, {1e6 / ray['limit_calls_per_s']:.1f} us when its worker "
        "holds one"
    )


def main() -> None:
    """Measure everything and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sequential-sample", type=int, default=200)
    parser.add_argument("--sequential-all", action="store_true")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray executor")
    parser.add_argument("--copies", type=int, default=10, help="scaling: copies of the 800")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 8,000-item rows")
    parser.add_argument(
        "--repeats", type=int, default=5,
        help="runs of the cached rerun and of the engine import (their median is the figure: "
        "second-long commands vary a lot on a shared machine)",
    )  # fmt: skip
    args = parser.parse_args()
    console = Console(width=max(160, Console().width))
    byte_compile()
    server, url = start_server(args.latency)
    rows: list[tuple[str, ...]] = []
    scaling: list[tuple[str, ...]] = []
    ratios: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
                "MMREFINE_DATA_DIR": os.environ.get(
                    "MMREFINE_DATA_DIR", str(ROOT.parent / "shared" / "data")
                ),
            }
            first = Path(tmp) / "run1"
            console.print("full run through litellm, cache off ...")
            fresh = timed_command(run_args(url, first, args.concurrency), env)
            calls = total_calls(first)
            served = get_json(f"{url}/_stats")["requests"]
            elapsed = run_elapsed(first)
            bodies = get_json(f"{url}/_requests?reset=1")
            console.print("full run through openai_compat, cache off ...")
            direct_out = Path(tmp) / "run-direct"
            direct = timed_command(
                run_args(url, direct_out, args.concurrency, backend="openai_compat"), env
            )
            direct_calls = total_calls(direct_out)
            direct_elapsed = run_elapsed(direct_out)
            get_json(f"{url}/_requests?reset=1")
            on_ray = None if args.no_ray else ray_figures(url, Path(tmp), args.concurrency, env)
            console.print("cache on: a run that fills a fresh cache, then the cached rerun ...")
            filling = timed_command(
                run_args(url, Path(tmp) / "run2", args.concurrency, cache=True), env
            )
            filling_calls = total_calls(Path(tmp) / "run2")
            cached = median_of([
                timed_command(
                    run_args(url, Path(tmp) / f"run3-{n}", args.concurrency, cache=True), env
                )
                for n in range(args.repeats)
            ])  # fmt: skip
            cached_calls = total_calls(Path(tmp) / "run3-0")
            help_s = timed_command([str(BIN / "mmrefine"), "--help"], env)["wall_s"]
            report_s = timed_command([str(BIN / "mmrefine"), "report", str(first)], env)["wall_s"]
            import_s = timed_command([sys.executable, "-c", "import litellm"], env)["wall_s"]
            engine = median_of([
                timed_command([sys.executable, "-c", "import mmrefine_agent.engine.run"], env)
                for _ in range(args.repeats)
            ])  # fmt: skip
            engine_s = engine["wall_s"]
            if not args.no_scaling:
                console.print(f"scaling: 800 and {800 * args.copies} items, cached ...")
                scaling, ratios = scaling_rows(url, Path(tmp), env, args.concurrency, args.copies)
        get_json(f"{url}/_requests?reset=1")
        console.print(f"replaying the same {len(bodies)} request bodies with bare clients ...")
        aiohttp_s, aiohttp_cpu = cpu_during(
            lambda: asyncio.run(bare_aiohttp(url, bodies, args.concurrency))
        )
        litellm_s, litellm_cpu = cpu_during(
            lambda: asyncio.run(bare_litellm(url, bodies, args.concurrency))
        )
        sample = bodies if args.sequential_all else bodies[: args.sequential_sample]
        sequential_sample_s = sequential_openai(url, sample)
        sequential_s = sequential_sample_s * len(bodies) / len(sample)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)

    n = len(bodies)
    floor = n / args.concurrency * args.latency
    fresh_cpu = 1000 * fresh["cpu_s"] / calls
    direct_cpu = 1000 * direct["cpu_s"] / direct_calls
    rows.append(("mmrefine run, litellm, 1 process (whole)", f"{fresh['wall_s']:.1f}",
                 f"{calls / fresh['wall_s']:.0f}", f"{fresh_cpu:.2f}", f"{fresh['peak_mb']:.0f}",
                 f"{calls} calls ({served} served)",
                 f"<= 1.25x (b): {fresh['wall_s'] / litellm_s:.2f}x"))  # fmt: skip
    if elapsed is not None:
        rows.append(("  the run itself (after start-up)", f"{elapsed:.1f}",
                     f"{calls / elapsed:.0f}", "", "", "start-up = imports, data",
                     f"{elapsed / litellm_s:.2f}x (b)"))  # fmt: skip
    rows.append(("mmrefine run, openai_compat, 1 process (whole)", f"{direct['wall_s']:.1f}",
                 f"{direct_calls / direct['wall_s']:.0f}", f"{direct_cpu:.2f}",
                 f"{direct['peak_mb']:.0f}", f"{direct_calls} calls",
                 f"<= 1.5x (c): {direct['wall_s'] / aiohttp_s:.2f}x; CPU <= 1.2 ms"))  # fmt: skip
    if direct_elapsed is not None:
        rows.append(("  the run itself (after start-up)", f"{direct_elapsed:.1f}",
                     f"{direct_calls / direct_elapsed:.0f}", "", "", "",
                     f"{direct_elapsed / aiohttp_s:.2f}x (c)"))  # fmt: skip
    if on_ray is not None:
        rows += ray_rows(on_ray)
    rows.append(("mmrefine run, cache on, fresh cache", f"{filling['wall_s']:.1f}", "", "", "",
                 f"{filling_calls} calls (identical prompts asked once)", ""))  # fmt: skip
    rows.append(("mmrefine cached rerun (whole)", f"{cached['wall_s']:.2f}", "",
                 f"CPU {cached['cpu_s']:.2f} s", f"{cached['peak_mb']:.0f}",
                 f"{cached_calls} calls, every graph run; {spread(cached)}",
                 "<= 4 s, 0 calls"))  # fmt: skip
    rows.append(("mmrefine --help", f"{help_s:.2f}", "", "", "", "", "fast (< 0.5 s)"))
    rows.append(("mmrefine report RUN", f"{report_s:.2f}", "", "", "", "", "fast (< 1 s)"))
    rows.append(("import mmrefine_agent.engine.run", f"{engine_s:.2f}", "", "", "",
                 f"python start-up included; {spread(engine)}", "< 0.5 s"))  # fmt: skip
    rows.append(("import litellm", f"{import_s:.1f}", "", "", "", "only where litellm is used",
                 ""))  # fmt: skip
    rows.extend(scaling)
    rows.append(("(a) sequential, OpenAI SDK", f"{sequential_s:.1f}", f"{n / sequential_s:.0f}",
                 "", "", "all" if args.sequential_all else
                 f"{len(sample)} calls in {sequential_sample_s:.1f}s, extrapolated",
                 f">= 15x mmrefine: {sequential_s / fresh['wall_s']:.1f}x"))  # fmt: skip
    rows.append(("(b) bare litellm.acompletion", f"{litellm_s:.1f}", f"{n / litellm_s:.0f}",
                 f"{1000 * litellm_cpu / n:.2f}", "", "import excluded", ""))  # fmt: skip
    rows.append(("(c) bare aiohttp", f"{aiohttp_s:.1f}", f"{n / aiohttp_s:.0f}",
                 f"{1000 * aiohttp_cpu / n:.2f}", "", f"latency floor {floor:.1f}s",
                 ""))  # fmt: skip
    table = Table(
        title=f"{n} calls, {args.latency * 1000:.0f} ms latency, concurrency {args.concurrency}"
    )
    for column in ("path", "wall s", "calls/s", "CPU ms/call", "peak MB", "note", "target"):
        table.add_column(
            column, justify="left" if column in ("path", "note", "target") else "right"
        )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    run_s = elapsed if elapsed is not None else fresh["wall_s"]
    if on_ray is not None:
        ray_report(console, on_ray, litellm_s, args.concurrency)
    direct_run_s = direct_elapsed if direct_elapsed is not None else direct["wall_s"]
    peak = max(fresh["peak_mb"], direct["peak_mb"], cached["peak_mb"])
    targets = [
        ("cached rerun, whole command", f"{cached['wall_s']:.2f} s", "<= 4 s",
         cached["wall_s"] <= 4.0),
        ("openai_compat / bare aiohttp", f"{direct['wall_s'] / aiohttp_s:.2f}x whole command, "
         f"{direct_run_s / aiohttp_s:.2f}x the run", "<= 1.5x",
         direct["wall_s"] / aiohttp_s <= 1.5),
        ("framework CPU per call (openai_compat)", f"{direct_cpu:.2f} ms", "<= 1.2 ms",
         direct_cpu <= 1.2),
        ("peak memory", f"{peak:.0f} MB", "< 1024 MB", peak < 1024),
        ("litellm backend / bare litellm.acompletion", f"{fresh['wall_s'] / litellm_s:.2f}x "
         f"whole command, {run_s / litellm_s:.2f}x the run", "<= 1.25x",
         fresh["wall_s"] / litellm_s <= 1.25),
        ("import mmrefine_agent.engine.run", f"{engine_s:.2f} s", "< 0.5 s", engine_s < 0.5),
        ("mmrefine --help / report", f"{help_s:.2f} s / {report_s:.2f} s", "fast",
         help_s < 0.5 and report_s < 1.0),
    ]  # fmt: skip
    for what, ratio in ratios.items():
        targets.append((f"scaling {800 * args.copies}/800: {what}", f"{ratio:.1f}x CPU",
                        f"<= {args.copies}x", ratio <= args.copies * 1.1))  # fmt: skip
    summary = Table(title="targets (issues 15 and 22; printed, never asserted)")
    for column in ("figure", "measured", "target", "met"):
        summary.add_column(column)
    for what, measured, target, met in targets:
        summary.add_row(what, measured, target, "yes" if met else "[red]no[/]")
    console.print(summary)
    load = os.getloadavg()
    console.print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
                  f"{os.cpu_count()} cores (figures on a loaded machine are slower)")  # fmt: skip


if __name__ == "__main__":
    main()
