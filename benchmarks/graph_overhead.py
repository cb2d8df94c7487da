"""The framework's own cost per item inside the graph: single_pass through LangGraph, no I/O.

Every item runs the compiled ``single_pass`` graph (begin_round, the four nodes, end_round and
both routes) with an in-memory backend that answers at once, under ``asyncio.gather`` as a run
does, without a judge, cache or run files; ``--gc`` chooses the run's collector settings
(engine/gc_tuning.py) or Python's. Prints Python function calls per item (deterministic, the
figure to compare on a loaded machine), microseconds of CPU per item (best and median of
``--repeats``) and the graph compile time; then LangGraph's own floor: the CPU per invocation
of a bare graph of one and of six no-op async nodes in a row (single_pass runs six per item).

    python benchmarks/graph_overhead.py [--items 800] [--repeats 5] [--gc run|default]
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import time
from contextlib import nullcontext
from typing import Annotated, Any, ClassVar, TypedDict

from mmrefine_agent.config import ModelConfig, StrategyConfig
from mmrefine_agent.engine.client import ClientSettings, ModelClient
from mmrefine_agent.engine.gc_tuning import run_gc
from mmrefine_agent.engine.item_loop import ItemWork
from mmrefine_agent.graph.builder import compile_graph
from mmrefine_agent.model.backend import ModelBackend
from mmrefine_agent.types import Item, ModelRequest, ModelResponse
from mmrefine_strategies.single_pass import SinglePass

ANSWER = (
    "Review and Correction (if applicable):\nStep 1: fine.\nError found in step 2: the sign.\n"
    "Corrected solution from step 2:\nStep 2: fixed.\nOverall Assessment:\n"
    "Correctness: Incorrect\nExplanation: step 2 was wrong.\nFinal Answer: 8"
)


class Instant(ModelBackend):
    """Answers every request at once with the same official-format text."""

    description: ClassVar[str] = "instant answers (benchmark)"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """The fixed answer."""
        return ModelResponse(text=ANSWER, model="instant", input_tokens=10, output_tokens=5)


class Prompts:
    """The official refinement prompt's shape, without the data directory."""

    def render(self, name: str, **values: str) -> str:
        """A prompt with the values filled in."""
        return f"You are a mathematical expert. {values}"


def items(n: int) -> list[Item]:
    """``n`` text items."""
    return [
        Item(key=f"{i}_src", id=str(i), question=f"q{i}", options=(), image=None, answer="8",
             initial_solution=f"Step 1: a\nStep 2: b{i}", label="incorrect",
             reference_feedback="step 2", error_type="calc", source="src")
        for i in range(n)
    ]  # fmt: skip


def bare_graph(n_nodes: int) -> Any:
    """A LangGraph graph of ``n_nodes`` no-op async nodes in a row (LangGraph's own floor)."""
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        value: int
        log: Annotated[list[int], operator.add]

    graph: Any = StateGraph(State)
    previous = START
    for index in range(n_nodes):

        async def node(state: State, index: int = index) -> State:
            return {"value": index, "log": [index]}

        graph.add_node(f"n{index}", node)
        graph.add_edge(previous, f"n{index}")
        previous = f"n{index}"
    graph.add_edge(previous, END)
    return graph.compile()


async def bare_pass(graph: Any, n: int) -> float:
    """CPU seconds for ``n`` concurrent invocations of a bare graph."""
    started = time.process_time()
    await asyncio.gather(*(graph.ainvoke({"value": 0}) for _ in range(n)))
    return time.process_time() - started


async def one_pass(work: ItemWork, batch: list[Item]) -> float:
    """CPU seconds to refine ``batch`` concurrently."""
    work.client.limiter = asyncio.Semaphore(64)  # one per event loop
    started = time.process_time()
    results = await asyncio.gather(*(work.refine(item) for item in batch))
    bad = [r.error for r in results if r.status != "ok"]
    assert not bad, bad[0]
    return time.process_time() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gc", choices=["run", "default"], default="run",
                        help="the run's garbage-collector settings (engine/gc_tuning.py) or "
                        "Python's defaults")  # fmt: skip
    args = parser.parse_args()
    strategy = SinglePass(StrategyConfig(name="single_pass"))
    started = time.perf_counter()
    graph = compile_graph(strategy)
    compile_s = time.perf_counter() - started
    client = ModelClient(
        Instant(ModelConfig(backend="instant", name="instant")),
        limiter=asyncio.Semaphore(64),
        settings=ClientSettings(),
    )
    work = ItemWork(strategy=strategy, client=client, prompts=Prompts(), judge=None,  # type: ignore[arg-type]
                    per_round=False, model_name="instant", emit_step=lambda step: None,
                    graph=graph)  # fmt: skip
    batch = items(args.items)
    with run_gc() if args.gc == "run" else nullcontext():
        costs = sorted(asyncio.run(one_pass(work, batch)) for _ in range(args.repeats))
    per_item = [1e6 * c / args.items for c in costs]
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    asyncio.run(one_pass(work, batch))
    profile.disable()
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    print(f"{calls / args.items:.0f} Python function calls per item (deterministic)")
    print(f"compile {1000 * compile_s:.1f} ms; {args.items} items x {args.repeats}: "
          f"CPU per item best {per_item[0]:.0f} us, median {per_item[len(per_item) // 2]:.0f} us"
          )  # fmt: skip
    # LangGraph's own floor: the same number of supersteps (single_pass runs six nodes per
    # item: begin_round, detect, locate, correct, verify, end_round) doing nothing
    for n_nodes in (1, 6):
        bare = bare_graph(n_nodes)
        floor = sorted(asyncio.run(bare_pass(bare, args.items)) for _ in range(args.repeats))
        print(f"bare LangGraph, {n_nodes} no-op node(s) in a row: CPU per invocation best "
              f"{1e6 * floor[0] / args.items:.0f} us, median "
              f"{1e6 * floor[len(floor) // 2] / args.items:.0f} us")  # fmt: skip


if __name__ == "__main__":
    main()
