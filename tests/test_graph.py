import asyncio
from pathlib import Path
from typing import Any

import pytest
from helpers import official_answer

from mmrefine_agent.config import ModelConfig, StrategyConfig
from mmrefine_agent.data.mmrefine import load_items
from mmrefine_agent.data.prompts import load_official_prompts
from mmrefine_agent.engine.client import ClientSettings, ModelClient
from mmrefine_agent.graph.builder import build_graph
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.strategy import Strategy
from mmrefine_agent.records.steps import StepRecord
from mmrefine_agent.types import Item, ModelRequest


def run_item(
    plugins: Any,
    data_dir: Path,
    strategy_name: str | type[Strategy],
    answers: dict[str, Any],
    max_rounds: int = 1,
    item: Item | None = None,
) -> tuple[dict, list[StepRecord], Any]:
    backend_cls = plugins.backends.get("scripted")
    backend = backend_cls(ModelConfig(backend="scripted", name="s", options={"answers": answers}))
    cls = plugins.strategies.get(strategy_name) if isinstance(strategy_name, str) else strategy_name
    strategy = cls(StrategyConfig(name=cls.name, max_rounds=max_rounds))
    item = item or load_items(data_dir, limit=1).items[0]
    steps: list[StepRecord] = []

    async def go() -> dict:
        client = ModelClient(backend, limiter=asyncio.Semaphore(4), settings=ClientSettings())
        compiled = build_graph(strategy).compile()
        context = GraphContext(item, client, load_official_prompts(data_dir), steps.append)
        return await compiled.ainvoke(
            strategy.initial_state(item), context=context, config={"recursion_limit": 100}
        )

    return asyncio.run(go()), steps, backend


def nodes_of(steps: list[StepRecord]) -> list[tuple[int, str]]:
    return [(s.round, s.node) for s in steps]


def test_graph_has_the_four_fixed_nodes(plugins: Any) -> None:
    strategy = plugins.strategies.get("single_pass")(StrategyConfig())
    compiled = build_graph(strategy).compile()
    drawn = compiled.get_graph()
    assert {"detect", "locate", "correct", "verify", "begin_round", "end_round"} <= set(drawn.nodes)
    mermaid = drawn.draw_mermaid()
    assert "detect" in mermaid and "verify" in mermaid


def test_single_pass_error_path_parses_one_answer(plugins: Any, data_dir: Path) -> None:
    state, steps, backend = run_item(
        plugins, data_dir, "single_pass", {"default": official_answer(False, "7", step=3)}
    )
    assert nodes_of(steps) == [(1, "detect"), (1, "locate"), (1, "correct"), (1, "verify")]
    assert len(backend.history) == 1
    assert [len(s.calls) for s in steps] == [1, 0, 0, 0]
    assert state["error_step"] == 3 and state["final_answer"] == "7"
    assert state["rounds"][0]["response"] == official_answer(False, "7", step=3)
    prompt = backend.history[0].messages[0].text
    assert prompt.startswith("You are a mathematical expert") and "Question:" in prompt


def test_single_pass_no_error_skips_locate_and_correct(plugins: Any, data_dir: Path) -> None:
    state, steps, _ = run_item(plugins, data_dir, "single_pass", {"default": official_answer(True)})
    assert nodes_of(steps) == [(1, "detect"), (1, "verify")]
    assert state["verdict"] == "correct"


def test_single_pass_parse_failure_is_recorded_not_raised(plugins: Any, data_dir: Path) -> None:
    state, steps, _ = run_item(plugins, data_dir, "single_pass", {"default": ""})
    assert state["verdict"] is None
    assert any("empty answer" in p for p in steps[0].parse_errors)
    assert state["rounds"][0]["parse_errors"]


def test_multi_round_loops_until_verified(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "detect": ["Correctness: Incorrect", "Correctness: Incorrect"],
            "locate": "Error found in step 2: wrong sign",
            "correct": ["Step 2: fixed\nFinal Answer: 5", "Step 2: fixed again\nFinal Answer: 6"],
            "verify": [
                "Verification: Rejected\nFinal Answer: 5",
                "Verification: Confirmed\nFinal Answer: 6",
            ],
        }
    }
    state, steps, backend = run_item(plugins, data_dir, "multi_round", answers, max_rounds=3)
    assert nodes_of(steps) == [
        (1, "detect"),
        (1, "locate"),
        (1, "correct"),
        (1, "verify"),
        (2, "detect"),
        (2, "locate"),
        (2, "correct"),
        (2, "verify"),
    ]
    assert all(len(s.calls) == 1 for s in steps)
    assert [r["verified"] for r in state["rounds"]] == [False, True]
    assert state["final_answer"] == "6"
    # round 2 reviews round 1's corrected solution
    round2_detect = next(
        r for r in backend.history if r.tags.node == "detect" and r.tags.round == 2
    )
    assert "Step 2: fixed\nFinal Answer: 5" in round2_detect.messages[-1].text
    response = state["rounds"][-1]["response"]
    assert "Correctness: Incorrect" in response and "Final Answer: 6" in response


def test_multi_round_stops_at_max_rounds(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "detect": "Correctness: Incorrect",
            "locate": "Error found in step 1: x",
            "correct": "Final Answer: 1",
            "verify": "Verification: Rejected",
        }
    }
    state, steps, _ = run_item(plugins, data_dir, "multi_round", answers, max_rounds=2)
    assert len(state["rounds"]) == 2 and steps[-1].round == 2


def test_multi_round_correct_solution_goes_to_verify(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "detect": "Correctness: Correct",
            "verify": "Verification: Confirmed\nFinal Answer: 3",
        }
    }
    state, steps, _ = run_item(plugins, data_dir, "multi_round", answers, max_rounds=3)
    assert nodes_of(steps) == [(1, "detect"), (1, "verify")]
    assert "Correctness: Correct" in state["response"]


def test_self_critique_revises_once(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "detect": [official_answer(True), official_answer(False, "9")],
            "critique": "The review missed an error.\nCritique Verdict: REVISE",
        }
    }
    state, steps, backend = run_item(plugins, data_dir, "self_critique", answers, max_rounds=2)
    assert nodes_of(steps) == [
        (1, "detect"),
        (1, "verify"),
        (1, "critique"),
        (2, "detect"),
        (2, "locate"),
        (2, "correct"),
        (2, "verify"),
    ]
    assert [len(s.calls) for s in steps] == [1, 0, 1, 1, 0, 0, 0]
    revision = next(r for r in backend.history if r.tags.round == 2).messages[-1].text
    assert "Critique Verdict: REVISE" in revision and "A first review" in revision
    assert state["rounds"][-1]["response"] == official_answer(False, "9")


def test_self_critique_accept_ends_after_one_round(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "detect": official_answer(True),
            "critique": "Looks right.\nCritique Verdict: ACCEPT",
        }
    }
    state, steps, _ = run_item(plugins, data_dir, "self_critique", answers, max_rounds=2)
    assert nodes_of(steps) == [(1, "detect"), (1, "verify"), (1, "critique")]
    assert state["verified"] is True


def test_verify_node_alone(plugins: Any, data_dir: Path) -> None:
    strategy = plugins.strategies.get("single_pass")(StrategyConfig())
    compiled = build_graph(strategy).compile()
    assert "verify" in compiled.nodes


def test_image_reaches_the_backend(plugins: Any, data_dir: Path) -> None:
    item = load_items(data_dir, filters={"modality": "image"}, limit=1).items[0]
    _, steps, backend = run_item(
        plugins, data_dir, "single_pass", {"default": official_answer(True)}, item=item
    )
    request: ModelRequest = backend.history[0]
    assert (
        request.messages[-1].images and request.messages[-1].images[0].sha256 == item.image.sha256
    )
    summary = steps[0].calls[0].messages[-1].images[0]
    assert summary.sha256 == item.image.sha256 and "data" not in summary.model_dump()


@pytest.mark.parametrize("strategy_name", ["single_pass", "self_critique", "multi_round"])
def test_every_strategy_survives_garbage_answers(
    plugins: Any, data_dir: Path, strategy_name: str
) -> None:
    state, steps, _ = run_item(plugins, data_dir, strategy_name, {"default": "???"}, max_rounds=2)
    assert state["rounds"] and steps
