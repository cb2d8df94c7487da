"""The published strategies (self_refine, critic, cove, debate, best_of_n, reflexion, and the
tool users critic_tools, lookback, tool_refine): each one's graph, routing and traced calls
with the scripted backend, on hand-built items (without tools here: tests/test_tool_strategies.py
runs the tool users with tools over HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import mmrefine, official_answer

from mmrefine_agent.config import ModelConfig, StrategyConfig
from mmrefine_agent.data.prompts import load_official_prompts
from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.engine.client import ClientSettings, ModelClient
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.graph.builder import build_graph
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.records.steps import StepRecord
from mmrefine_agent.types import Item, ModelRequest

ZOO = ("self_refine", "critic", "cove", "debate", "best_of_n", "reflexion", "critic_tools",
       "lookback", "tool_refine")  # fmt: skip

SOLUTION = "Step 1: 2 + 2 = 4.\nStep 2: 4 * 2 = 9.\nStep 3: So the answer is 9."


def item(label: str = "incorrect", answer: str = "8") -> Item:
    return Item(
        key=f"toy:{label}",
        id="toy",
        question="What is (2 + 2) * 2?",
        options=(),
        image=None,
        answer=answer,
        initial_solution=SOLUTION,
        label=label,  # type: ignore[arg-type]
        reference_feedback=None,
        error_type=None,
        source="hand",
        steps=tuple(SOLUTION.splitlines()),
        first_wrong_step=2 if label == "incorrect" else None,
    )


def review(verdict: str, final: str, step: int = 2, extra: str = "") -> str:
    wrong = f"Error found in step {step}: 4 * 2 is 8.\n" if verdict == "Incorrect" else ""
    return f"{extra}Step 1: fine.\n{wrong}Correctness: {verdict}\nFinal Answer: {final}"


def run(
    plugins: Any,
    data_dir: Path,
    name: str,
    answer: Callable[[ModelRequest], str] | dict[str, Any],
    *,
    max_rounds: int = 1,
    options: dict[str, Any] | None = None,
    the_item: Item | None = None,
    cache: CallCache | None = None,
) -> tuple[dict[str, Any], list[StepRecord], Any]:
    """One item through ``name``'s compiled graph with the scripted backend."""
    backend_cls = plugins.backends.get("scripted")
    if callable(answer):
        backend = backend_cls(ModelConfig(backend="scripted", name="s"), answer_fn=answer)
    else:
        backend = backend_cls(
            ModelConfig(backend="scripted", name="s", options={"answers": answer})
        )
    cls = plugins.strategies.get(name)
    strategy = cls(StrategyConfig(name=name, max_rounds=max_rounds, options=options or {}))
    the_item = the_item or item()
    steps: list[StepRecord] = []

    async def go() -> dict[str, Any]:
        client = ModelClient(
            backend, limiter=asyncio.Semaphore(4), settings=ClientSettings(), cache=cache
        )
        compiled = build_graph(strategy).compile()
        context = GraphContext(the_item, client, load_official_prompts(data_dir), steps.append)
        return await compiled.ainvoke(
            strategy.initial_state(the_item), context=context, config={"recursion_limit": 100}
        )

    return asyncio.run(go()), steps, backend


def nodes_of(steps: list[StepRecord]) -> list[tuple[int, str]]:
    return [(s.round, s.node) for s in steps]


def texts(backend: Any, node: str) -> list[str]:
    return [r.messages[-1].text for r in backend.history if r.tags.node == node]


def test_self_refine_loops_until_the_feedback_finds_nothing(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "detect": [review("Incorrect", "9"), review("Correct", "8")],
            "correct": "Step 1: 2 + 2 = 4.\nStep 2: 4 * 2 = 8.\nFinal Answer: 8",
        }
    }
    state, steps, backend = run(plugins, data_dir, "self_refine", answers, max_rounds=3)
    assert nodes_of(steps) == [(1, "detect"), (1, "locate"), (1, "correct"), (1, "verify"),
                               (2, "detect"), (2, "verify")]  # fmt: skip
    assert [len(s.calls) for s in steps] == [1, 0, 1, 0, 1, 0]
    round1, round2 = state["rounds"]
    assert round1["verdict"] == "incorrect" and round1["error_step"] == 2
    assert round1["verified"] is False and round2["verified"] is True
    assert round2["reviewed_solution"].startswith("Step 1: 2 + 2 = 4.\nStep 2: 4 * 2 = 8.")
    second_feedback = texts(backend, "detect")[1]
    assert "Attempt 1:" in second_feedback and "4 * 2 = 9" in second_feedback  # the history
    # the judged response: official format, the first error found, the latest answer
    assert "Correctness: Incorrect" in state["response"] and state["response"].endswith("8")
    assert state["final_answer"] == "8"


def test_self_refine_stops_at_once_on_a_clean_solution(plugins: Any, data_dir: Path) -> None:
    state, steps, _ = run(
        plugins, data_dir, "self_refine", {"default": review("Correct", "8")}, max_rounds=3
    )
    assert nodes_of(steps) == [(1, "detect"), (1, "verify")]
    assert state["verdict"] == "correct" and state["final_answer"] == "8"
    assert "Correctness: Correct" in state["response"]


def test_critic_stops_when_the_revision_keeps_the_answer(plugins: Any, data_dir: Path) -> None:
    critique = review("Incorrect", "8", extra="Proposed Answer: 9\n")
    answers = {
        "nodes": {
            "detect": [critique, review("Incorrect", "8", extra="Proposed Answer: 8\n")],
            "correct": ["Step 2: 4 * 2 = 8.\nFinal Answer: 8"],
        }
    }
    state, steps, backend = run(plugins, data_dir, "critic", answers, max_rounds=3)
    # round 1 revised 9 -> 8 (changed: go on); round 2 kept 8 -> stop
    assert nodes_of(steps) == [(r, n) for r in (1, 2) for n in ("detect", "locate", "correct",
                                                                 "verify")]  # fmt: skip
    verify1, verify2 = (s for s in steps if s.node == "verify")
    assert verify1.parsed["answer_unchanged"] is False and verify1.parsed["verified"] is False
    assert verify2.parsed["stop_reason"] == "the revision kept the answer"
    assert "Proposed Answer:" in texts(backend, "detect")[0]
    assert "A critique of it:" in texts(backend, "correct")[0]
    assert state["final_answer"] == "8" and len(state["rounds"]) == 2
    same = run(
        plugins, data_dir, "critic", answers, max_rounds=3, options={"stop_when_unchanged": False}
    )[0]
    assert len(same["rounds"]) == 3


def test_cove_answers_each_question_without_the_solution(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "plan_checks": "1. What is 2 + 2?\n2. What is 4 * 2?\n3. What is 8 - 1?",
            "answer_checks": "a number",
            "detect": review("Incorrect", "8"),
            "correct": "Step 2: 4 * 2 = 8.\nFinal Answer: 8",
        }
    }
    state, steps, backend = run(plugins, data_dir, "cove", answers, options={"questions": 2})
    assert nodes_of(steps) == [(1, "plan_checks"), (1, "answer_checks"), (1, "detect"),
                               (1, "locate"), (1, "correct"), (1, "verify")]  # fmt: skip
    checks = texts(backend, "answer_checks")
    assert len(checks) == 2 and len(steps[1].calls) == 2  # at most `questions`, one call each
    assert all("4 * 2 = 9" not in text for text in checks)  # factored: no solution in sight
    assert any("What is 4 * 2?" in text for text in checks)
    assert "Q2: What is 4 * 2?\nA2: a number" in texts(backend, "detect")[0]
    assert state["final_answer"] == "8" and state["error_step"] == 2
    assert len(state["rounds"]) == 1


def test_debate_agents_see_each_other_and_the_majority_answers(
    plugins: Any, data_dir: Path
) -> None:
    calls: list[str] = []
    first = [review("Incorrect", "8"), review("Incorrect", "8"), review("Correct", "9")]

    def answer(request: ModelRequest) -> str:
        calls.append(request.tags.node)
        if request.tags.round == 1:
            return first[(len(calls) - 1) % 3]
        return review("Incorrect", "8")

    state, steps, backend = run(plugins, data_dir, "debate", answer, max_rounds=2)
    assert nodes_of(steps) == [(r, n) for r in (1, 2) for n in
                               ("agents", "agents", "agents", "detect", "locate", "correct",
                                "verify")]  # fmt: skip
    # each agent is a parallel branch: a step of its own with its one call
    assert [len(s.calls) for s in steps if s.node == "agents"] == [1] * 6
    assert sorted(s.parsed["agent"] for s in steps if s.node == "agents") == [1, 1, 2, 2, 3, 3]
    assert sum(len(s.calls) for s in steps) == 6  # detect..verify only count votes
    detect1 = next(s for s in steps if s.node == "detect")
    assert detect1.parsed["votes"] == ["incorrect", "incorrect", "correct"]
    round1, round2 = state["rounds"]
    assert round1["verdict"] == "incorrect" and round1["verified"] is False  # not unanimous
    assert round2["verified"] is True and state["final_answer"] == "8"
    later = [r.messages[-1].text for r in backend.history if r.tags.round == 2]
    assert all("Reviews by the other agents" in t for t in later)
    third = later[2]  # agent 3 reads agents 1 and 2, and its own "Correct" review
    assert "Agent 1:" in third and "Agent 2:" in third and "Agent 3:" not in third
    assert third.index("Correctness: Correct") < third.index("Reviews by the other agents")
    assert all(r.params.get("temperature") == 0.7 for r in backend.history)
    assert state["response"].startswith("Step 1: fine.")  # the majority agent's own review


def test_debate_samples_are_apart_in_the_call_cache(
    plugins: Any, data_dir: Path, tmp_path: Path
) -> None:
    _, _, backend = run(
        plugins,
        data_dir,
        "debate",
        {"default": review("Correct", "8")},
        options={"agents": 3, "stop_on_agreement": True},
        max_rounds=3,
        cache=CallCache(tmp_path / "cache"),
    )
    assert len(backend.history) == 3  # three agents, three calls (not one cached answer)


def test_best_of_n_samples_and_a_verifier_picks_one(plugins: Any, data_dir: Path) -> None:
    samples = iter([review("Correct", "9"), review("Incorrect", "8"), review("Incorrect", "7")])

    def answer(request: ModelRequest) -> str:
        if request.tags.node == "sample":
            return next(samples)
        return "Review 2 is right.\nChoice: 2"

    state, steps, backend = run(plugins, data_dir, "best_of_n", answer, options={"n": 3})
    assert nodes_of(steps)[:5] == [(1, "sample")] * 3 + [(1, "choose"), (1, "detect")]
    assert [len(s.calls) for s in steps[:5]] == [1, 1, 1, 1, 0]  # each sample a branch
    assert steps[3].parsed["choice"] == 2
    assert "Review 3:" in texts(backend, "choose")[0]
    assert state["verdict"] == "incorrect" and state["final_answer"] == "8"
    assert state["response"] == review("Incorrect", "8")
    assert all(r.params.get("temperature") == 0.8 for r in texts_requests(backend, "sample"))


def texts_requests(backend: Any, node: str) -> list[ModelRequest]:
    return [r for r in backend.history if r.tags.node == node]


def test_best_of_n_identical_samples_need_no_verifier(plugins: Any, data_dir: Path) -> None:
    state, steps, _ = run(plugins, data_dir, "best_of_n", {"default": official_answer(False, "8")})
    assert [len(s.calls) for s in steps[:5]] == [1, 1, 1, 1, 0]  # n defaults to 4; choose: none
    assert "nothing to choose" in steps[4].parsed["reason"]
    assert state["final_answer"] == "8"


def test_best_of_n_bad_choice_keeps_the_first_sample(plugins: Any, data_dir: Path) -> None:
    counter = iter(range(100))

    def answer(request: ModelRequest) -> str:
        if request.tags.node == "sample":
            return review("Incorrect", str(next(counter)))
        return "They are all fine."

    state, steps, _ = run(plugins, data_dir, "best_of_n", answer, options={"n": 2})
    choose = next(s for s in steps if s.node == "choose")
    assert choose.parse_errors and "first sample is kept" in choose.parse_errors[0]
    assert state["final_answer"] == "0"


def test_reflexion_retries_with_reflections_until_the_gold_check_passes(
    plugins: Any, data_dir: Path
) -> None:
    answers = {
        "nodes": {
            "detect": [official_answer(False, "9"), official_answer(False, "8")],
            "reflect": "I trusted step 2; next time recompute every product.",
        }
    }
    state, steps, backend = run(plugins, data_dir, "reflexion", answers, max_rounds=3)
    assert nodes_of(steps) == [(1, "detect"), (1, "locate"), (1, "correct"), (1, "verify"),
                               (1, "reflect"), (2, "detect"), (2, "locate"), (2, "correct"),
                               (2, "verify")]  # fmt: skip
    verify1, verify2 = (s for s in steps if s.node == "verify")
    assert verify1.parsed["evaluator"] == "gold label and answer"
    assert verify1.parsed["answer_right"] is False and verify2.parsed["success"] is True
    retry = texts(backend, "detect")[1]
    memory = retry.split("You have reviewed this solution before")[1]
    assert "I trusted step 2" in memory and "8" not in memory  # the gold never reaches a prompt
    assert all("Final Answer: 8" not in t for t in texts(backend, "reflect"))
    assert state["final_answer"] == "8" and state["verified"] is True


def test_reflexion_on_a_correct_solution_checks_the_verdict_only(
    plugins: Any, data_dir: Path
) -> None:
    _, steps, _ = run(
        plugins,
        data_dir,
        "reflexion",
        {"default": official_answer(True, "8")},
        max_rounds=3,
        the_item=item("correct"),
    )
    assert nodes_of(steps) == [(1, "detect"), (1, "verify")]  # success: no reflection
    verify = steps[-1]
    assert verify.parsed["evaluator"] == "gold label" and verify.parsed["success"] is True


def test_the_last_reflexion_round_does_not_reflect(plugins: Any, data_dir: Path) -> None:
    _, steps, _ = run(
        plugins,
        data_dir,
        "reflexion",
        {"default": official_answer(False, "9"), "nodes": {"reflect": "try harder"}},
        max_rounds=2,
    )
    assert [n for r, n in nodes_of(steps) if n == "reflect"] == ["reflect"]
    assert nodes_of(steps)[-1] == (2, "verify")


def test_only_a_strategy_that_declares_uses_gold_gets_the_gold(plugins: Any) -> None:
    flags = {name: plugins.strategies.get(name).uses_gold for name in ZOO}
    assert flags == {**dict.fromkeys(ZOO, False), "reflexion": True}
    assert not any(plugins.strategies.get(n).uses_gold for n in ("single_pass", "multi_round"))


@pytest.mark.parametrize(
    ("name", "option", "value", "message"),
    [
        ("debate", "agent", 3, "did you mean 'agents'"),
        ("best_of_n", "n", 0, "expected a whole number in 1..16"),
        ("debate", "temperature", "hot", "expected a number"),
        ("self_refine", "history", "yes", "expected true or false"),
        ("cove", "question", 2, "did you mean 'questions'"),
        ("tool_refine", "max_tool_call", 3, "did you mean 'max_tool_calls'"),
        ("critic_tools", "max_tool_calls", 101, "expected a whole number in 0..100"),
        ("lookback", "max_claims", 0, "expected a whole number in 1..30"),
    ],
)
def test_options_are_checked_with_did_you_mean(
    plugins: Any, name: str, option: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        plugins.strategies.get(name)(StrategyConfig(name=name, options={option: value}))


def test_graph_command_draws_every_zoo_strategy() -> None:
    for name in ZOO:
        drawn = mmrefine("graph", name)
        assert drawn.returncode == 0, drawn.stderr
        assert "begin_round" in drawn.stdout and "end_round" in drawn.stdout
    reflexion = mmrefine("graph", "reflexion")
    assert "verify -?-> reflect | end_round" in reflexion.stdout
    assert "uses the gold answer" in reflexion.stdout
    typo = mmrefine("graph", "best_of_n", "--set", "strategy.options.temprature=1")
    assert typo.returncode == 2 and "did you mean 'temperature'" in typo.stderr


def test_lookback_on_a_text_item_has_nothing_to_look_back_at(plugins: Any, data_dir: Path) -> None:
    answers = {
        "nodes": {
            "detect": review("Incorrect", "8"),
            "correct": "Step 1: 2 + 2 = 4.\nStep 2: 4 * 2 = 8.\nFinal Answer: 8",
        }
    }
    state, steps, backend = run(plugins, data_dir, "lookback", answers)
    assert nodes_of(steps) == [(1, n) for n in ("list_claims", "look_back", "detect", "locate",
                                                "correct", "verify")]  # fmt: skip
    assert [len(s.calls) for s in steps] == [0, 0, 1, 0, 1, 0]
    assert "the item has no image: no claims to look back at" in steps[0].notes
    (critique,) = texts(backend, "detect")
    assert "Review the solution step by step" in critique and "Claim" not in critique
    assert state["error_step"] == 2 and state["final_answer"] == "8"
    assert "Correctness: Incorrect" in state["response"]


@pytest.mark.parametrize("name", ["tool_refine", "critic_tools"])
def test_a_tool_strategy_without_tools_asks_plainly(
    plugins: Any, data_dir: Path, name: str
) -> None:
    answers = {"default": review("Correct", "8", extra="Proposed Answer: 8\n")}
    state, steps, backend = run(plugins, data_dir, name, answers)
    (prompt,) = texts(backend, "detect")
    assert "tool" not in prompt.lower()
    assert not any(r.params.get("tools") for r in backend.history)
    assert state["verdict"] == "correct"
    assert steps[0].parsed["tool_calls_run"] == 0
