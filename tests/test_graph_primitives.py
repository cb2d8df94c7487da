"""LangGraph's own primitives inside the detect -> locate -> correct -> verify frame.

Parallel branches (several edges, joins, routers returning Sends), Command from a node, a
compiled subgraph as a node (steps named outer/inner), a tool node, typed strategy state,
strategy.max_steps, and the parallel_review example from --plugin, all with the scripted
backend (its latency makes overlapping branches visible).
"""

from __future__ import annotations

import asyncio
import json
import operator
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
from helpers import ROOT, SCRIPT, mmrefine, official_answer

from mmrefine_agent import BEGIN_ROUND, GraphShape, NodeContext, RefineState, SinglePass
from mmrefine_agent.config import ModelConfig, StrategyConfig
from mmrefine_agent.data.mmrefine import load_items
from mmrefine_agent.data.prompts import load_official_prompts
from mmrefine_agent.engine.client import ClientSettings, ModelClient
from mmrefine_agent.engine.item_loop import ItemWork
from mmrefine_agent.errors import PluginError
from mmrefine_agent.graph.builder import compile_graph, strategy_shape
from mmrefine_agent.records.steps import StepRecord


def refine(plugins: Any, data_dir: Path, strategy: Any, answers: Any, latency: float = 0.0,
           tools: Any = None) -> tuple[Any, list[StepRecord], Any]:  # fmt: skip
    """One item through ``strategy``'s graph and the item loop (no judge)."""
    options: dict[str, Any] = {"latency_s": latency}
    if not callable(answers):
        options["answers"] = answers
    backend = plugins.backends.get("scripted")(
        ModelConfig(backend="scripted", name="s", options=options),
        answer_fn=answers if callable(answers) else None,
    )
    steps: list[StepRecord] = []
    item = load_items(data_dir, limit=1).items[0]

    async def go() -> Any:
        client = ModelClient(backend, limiter=asyncio.Semaphore(8), settings=ClientSettings())
        work = ItemWork(strategy=strategy, client=client, prompts=load_official_prompts(data_dir),
                        judge=None, per_round=False, model_name="s", emit_step=steps.append,
                        tools=tools)  # fmt: skip
        return await work.refine(item)

    return asyncio.run(go()), steps, backend


def overlap(steps: list[StepRecord]) -> bool:
    """Whether all ``steps`` ran at the same time (each started before any other ended)."""
    events = [s.to_event() for s in steps]
    return max(e.timestamp for e in events) < min(e.ended for e in events)


def test_debate_with_three_agents_records_three_overlapping_agent_steps_per_round(
    plugins: Any, data_dir: Path
) -> None:
    debate = plugins.strategies.get("debate")(
        StrategyConfig(name="debate", max_rounds=2, options={"agents": 3})
    )
    result, steps, backend = refine(
        plugins, data_dir, debate, {"default": official_answer(False, "8")}, latency=0.3
    )
    assert result.status == "ok", result.error
    for number in (1, 2):
        agents = [s for s in steps if s.node == "agents" and s.round == number]
        assert len(agents) == 3 and sorted(s.parsed["agent"] for s in agents) == [1, 2, 3]
        assert all(len(s.calls) == 1 for s in agents)
        assert overlap(agents), [(s.timestamp, s.elapsed_s) for s in agents]
    assert len(backend.history) == 6


class Branches(SinglePass):
    """Two checkers in parallel (two edges out of begin_round), a join, typed state."""

    name = "branches"
    options_doc: ClassVar[dict[str, str] | None] = {}

    class State(RefineState, total=False):
        notes: Annotated[list[str], operator.add]

    state_type = State

    def shape(self, graph: GraphShape) -> None:
        graph.remove_edge(BEGIN_ROUND, "detect")
        for name in ("left", "right"):
            graph.add_node(name, self.check)
            graph.add_edge(BEGIN_ROUND, name)
        graph.add_node("slow", self.check)
        graph.add_edge("right", "slow")  # a longer branch: the join still waits for it
        graph.add_edge(["left", "slow"], "detect")

    def route_after_verify(self, state: Any) -> str:
        return "detect"  # every round runs (max_rounds stops it)

    async def check(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        await ctx.ask(f"{ctx.node}: check", sample=ctx.node)
        return {"notes": [ctx.node]}

    async def detect(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        ctx.parsed(notes=sorted(state["notes"]))
        return await super().detect(state, ctx)


def test_parallel_edges_overlap_join_through_a_reducer_and_start_empty_each_round(
    plugins: Any, data_dir: Path
) -> None:
    strategy = Branches(StrategyConfig(name="branches", max_rounds=2))
    result, steps, _ = refine(
        plugins, data_dir, strategy, {"default": official_answer(False, "8")}, latency=0.3
    )
    assert result.status == "ok", result.error
    first = [s for s in steps if s.round == 1]
    assert overlap([s for s in first if s.node in ("left", "right")])
    detects = [s for s in steps if s.node == "detect"]
    assert len(detects) == 2  # the join ran detect once per round, after the longer branch
    assert [d.parsed["notes"] for d in detects] == [["left", "right", "slow"]] * 2
    drawn = mmrefine_graph(strategy)
    assert "begin_round -> left & right   (parallel branches)" in drawn
    assert "left + slow -> detect   (waits for all)" in drawn


def mmrefine_graph(strategy: Any) -> str:
    from mmrefine_agent.cli.graph_view import graph_lines

    return "\n".join(graph_lines(strategy_shape(strategy)))


class Commanded(SinglePass):
    """detect returns a Command: to verify when correct, else through a 'doubt' node."""

    name = "commanded"

    def shape(self, graph: GraphShape) -> None:
        graph.add_node("doubt", self.doubt)
        graph.add_edge("doubt", "locate")
        graph.add_route("detect", lambda state: [], ["verify"])  # replaced below
        del graph.routes["detect"]
        graph.destinations["detect"] = ("doubt", "verify")

    async def detect(self, state: Any, ctx: NodeContext) -> Any:
        from langgraph.types import Command

        update = await super().detect(state, ctx)
        goto = self.options.get("goto") or (
            "doubt" if update["verdict"] == "incorrect" else "verify"
        )
        return Command(update=update, goto=goto)

    async def doubt(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        ctx.parsed(doubted=state["verdict"])
        return {}


def test_a_node_returning_a_command_routes_and_a_bad_goto_names_the_allowed(
    plugins: Any, data_dir: Path
) -> None:
    result, steps, _ = refine(
        plugins, data_dir, Commanded(StrategyConfig(name="commanded")),
        {"default": official_answer(False, "8")},
    )  # fmt: skip
    assert result.status == "ok", result.error
    assert [s.node for s in steps] == ["detect", "doubt", "locate", "correct", "verify"]
    bad = Commanded(StrategyConfig(name="commanded", options={"goto": "correct"}))
    result, steps, _ = refine(plugins, data_dir, bad, {"default": official_answer(False, "8")})
    assert result.status == "strategy_error"
    assert "the Command from 'detect' returned 'correct'; allowed: doubt, verify" in result.error


def test_a_router_sending_to_an_undeclared_node_fails_naming_the_allowed(
    plugins: Any, data_dir: Path
) -> None:
    from langgraph.types import Send

    class Strays(SinglePass):
        name = "strays"

        def route_after_detect(self, state: Any) -> Any:
            return [Send("locate", {}), Send("correct", {})]

    result, _, _ = refine(
        plugins, data_dir, Strays(StrategyConfig()), {"default": official_answer(False, "8")}
    )
    assert result.status == "strategy_error"
    assert "the route after 'detect' sent to 'correct'; allowed: locate, verify" in result.error


def test_a_bad_branch_or_join_is_refused_at_build_time_naming_the_allowed() -> None:
    class Bad(SinglePass):
        name = "bad"
        join = False

        def shape(self, graph: GraphShape) -> None:
            if self.join:
                graph.add_edge(["locate", "ghost"], "correct")
            else:
                graph.add_edge(BEGIN_ROUND, "ghost")

    with pytest.raises(PluginError, match="'begin_round' -> 'ghost': no such node; allowed: "):
        strategy_shape(Bad(StrategyConfig()))
    Bad.join = True
    with pytest.raises(PluginError, match=r"join \['locate', 'ghost'\] -> 'correct': no node"):
        strategy_shape(Bad(StrategyConfig()))


class Looping(SinglePass):
    """critique <-> revise forever: strategy.max_steps ends it, naming the loop."""

    name = "looping"

    def shape(self, graph: GraphShape) -> None:
        graph.insert_before("verify", "critique", self.nothing)
        graph.add_node("revise", self.nothing)
        graph.add_route("critique", lambda state: "revise", ["revise", "verify"])
        graph.add_edge("revise", "critique")

    async def nothing(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        return {}


def test_a_loop_inside_a_round_is_bounded_by_max_steps_naming_the_loop(
    plugins: Any, data_dir: Path
) -> None:
    strategy = Looping(StrategyConfig(name="looping", max_steps=4))
    result, steps, _ = refine(plugins, data_dir, strategy, {"default": official_answer(True)})
    assert result.status == "strategy_error"
    assert "the loop critique -> revise -> critique did not end" in result.error
    assert "(strategy.max_steps is 4)" in result.error
    assert sum(s.node == "critique" for s in steps) == 4


class WithSubgraph(SinglePass):
    """A compiled LangGraph graph (draft -> polish) as the node 'review' before detect."""

    name = "with_subgraph"

    class State(RefineState, total=False):
        drafts: Annotated[list[str], operator.add]

    state_type = State

    def shape(self, graph: GraphShape) -> None:
        from langgraph.graph import END, START, StateGraph

        inner = StateGraph(self.State)
        inner.add_node("draft", self.draft)
        inner.add_node("polish", self.polish)
        inner.add_edge(START, "draft")
        inner.add_edge("draft", "polish")
        inner.add_edge("polish", END)
        graph.insert_before("detect", "review", inner.compile())

    def route_after_verify(self, state: Any) -> str:
        return "detect"

    async def draft(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        return {"drafts": [await ctx.ask("draft a review")]}

    @staticmethod
    def polish(state: Any) -> dict[str, Any]:  # a plain LangGraph node: (state) -> update
        return {"drafts": [state["drafts"][-1].upper()]}

    async def detect(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        ctx.parsed(drafts=list(state["drafts"]))
        return await super().detect(state, ctx)


def test_a_compiled_subgraph_is_a_node_and_its_steps_are_named_outer_inner(
    plugins: Any, data_dir: Path
) -> None:
    strategy = WithSubgraph(StrategyConfig(name="with_subgraph", max_rounds=2))
    answers = {"nodes": {"review/draft": "a draft"}, "default": official_answer(False, "8")}
    result, steps, _ = refine(plugins, data_dir, strategy, answers)
    assert result.status == "ok", result.error
    assert [s.node for s in steps if s.round == 1][:3] == [
        "review/draft",
        "review/polish",
        "detect",
    ]
    assert steps[0].calls and steps[0].raw_answer == "a draft"
    # the subgraph's appends reach the outer state once (not the whole list again)
    detects = [s for s in steps if s.node == "detect"]
    assert [d.parsed["drafts"] for d in detects] == [["a draft", "A DRAFT"]] * 2
    mermaid = compile_graph(strategy).get_graph(xray=True).draw_mermaid()
    assert "draft" in mermaid and "polish" in mermaid
    assert "[review] draft -> polish" in mmrefine_graph(strategy)


class ToolUser(SinglePass):
    """think -> (tool calls?) tools -> think ... -> detect: a ReAct loop with a tool node."""

    name = "tool_user"
    default_tools = ("calculator",)

    class State(RefineState, total=False):
        messages: Annotated[list[Any], operator.add]

    state_type = State

    def shape(self, graph: GraphShape) -> None:
        graph.insert_before("detect", "think", self.think)
        graph.add_tool_node("tools")
        graph.add_route("think", self.after_think, ["tools", "detect"])
        graph.add_edge("tools", "think")

    def after_think(self, state: Any) -> str:
        return "tools" if state["messages"][-1].tool_calls else "detect"

    async def think(self, state: Any, ctx: NodeContext) -> dict[str, Any]:
        history = list(state.get("messages") or [ctx.user("check 2 + 2", with_image=False)])
        reply = await ctx.chat(history, tools=ctx.tools)
        new = [] if state.get("messages") else history
        return {"messages": [*new, reply.as_message()]}


def test_a_tool_node_runs_the_calls_of_the_last_message_as_its_own_step(
    plugins: Any, data_dir: Path
) -> None:
    from mmrefine_agent.tools.box import toolbox_for

    strategy = ToolUser(StrategyConfig(name="tool_user"))
    turns = [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "2 + 2"}}]},
             "no more tools", official_answer(False, "4")]  # fmt: skip
    answers = {"nodes": {"think": {"turns": turns[:2]}}, "default": turns[2]}
    result, steps, _ = refine(plugins, data_dir, strategy, answers,
                              tools=toolbox_for(strategy, plugins))  # fmt: skip
    assert result.status == "ok", result.error
    assert [s.node for s in steps] == ["think", "tools", "think", "detect", "locate",
                                       "correct", "verify"]  # fmt: skip
    tools = steps[1]
    assert [r.name for r in tools.tool_runs] == ["calculator"]
    assert tools.tool_runs[0].result == "4"


def test_parallel_review_runs_from_plugin_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = mmrefine(
        "run", "configs/paper_single_pass.yaml", "--plugin", "examples/parallel_review.py",
        "--limit", "3", "--out", str(out), "--quiet",
        "--set", "strategy.name=parallel_review", "--set", "model.backend=scripted",
        "--set", f"model.options.script={SCRIPT}", "--set", "model.options.latency_s=0.2",
        "--set", "judge.name=offline",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    steps = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]
    first = [s for s in steps if s["item_key"] == steps[0]["item_key"]]
    assert [s["node"] for s in first][2:] == ["merge", "detect", "locate", "correct", "verify"][
        : len(first) - 2
    ]
    reviewers = [s for s in first if s["node"].endswith("_reviewer")]
    assert sorted(s["node"] for s in reviewers) == ["figure_reviewer", "steps_reviewer"]
    assert max(s["timestamp"] for s in reviewers) < min(s["ended"] for s in reviewers)
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(results) == 3 and all(r["status"] == "ok" for r in results)
    drawn = mmrefine("graph", "parallel_review", "--plugin", "examples/parallel_review.py")
    assert "figure_reviewer + steps_reviewer -> merge" in drawn.stdout
    assert (ROOT / "examples/parallel_review.py").read_text().count("\n") < 90


def test_max_steps_at_its_default_leaves_the_fingerprint_as_before() -> None:
    """Runs made before strategy.max_steps existed still resume; a set value is checked."""
    from mmrefine_agent.config import build_config

    assert "max_steps" not in build_config({}, []).fingerprint_dict()["strategy"]
    changed = build_config({}, ["strategy.max_steps=4"]).fingerprint_dict()
    assert changed["strategy"]["max_steps"] == 4
