"""The rules a shaped graph follows: checked at build time and while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import official_answer
from test_graph import nodes_of, run_item

from mmrefine_agent import GraphShape, NodeContext, RefineState
from mmrefine_agent.config import StrategyConfig
from mmrefine_agent.errors import ConfigError, NodeFailed, PluginError, RouteError
from mmrefine_agent.graph.builder import standard_shape, strategy_shape
from mmrefine_strategies.multi_round import MultiRound, MultiRoundCarry
from mmrefine_strategies.single_pass import SinglePass

CORRECT = {"default": official_answer(True)}


async def nothing(state: RefineState, ctx: NodeContext) -> dict[str, Any]:
    return {}


def shaped(change: Any) -> GraphShape:
    """The checked shape of a single_pass whose ``shape`` is ``change``."""

    class Shaped(SinglePass):
        name = "shaped"

        def shape(self, graph: GraphShape) -> None:
            change(graph)

    return strategy_shape(Shaped(StrategyConfig()))


def test_the_standard_shape_has_the_round_nodes_and_one_route_after_end_round() -> None:
    shape = standard_shape(SinglePass(StrategyConfig()))
    assert shape.all_nodes() == [
        "begin_round", "detect", "locate", "correct", "verify", "end_round",
    ]  # fmt: skip
    assert shape.edges["begin_round"] == "detect" and shape.edges["verify"] == "end_round"
    assert shape.routes["detect"].destinations == ("locate", "verify")
    assert shape.routes["end_round"].destinations == ("begin_round", "__end__")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.add_node("begin_round", nothing), "'begin_round' is not allowed"),
        (lambda g: g.add_node("my node", nothing), "'my node' is not allowed"),
        (lambda g: g.add_node("detect", nothing), "'detect' is added twice"),
        (lambda g: g.remove_node("locate"), "'locate' cannot be removed"),
        (lambda g: g.remove_node("ghost"), "remove_node('ghost'): no such node"),
        (lambda g: g.add_edge("end_round", "end"), "belongs to the framework"),
        (lambda g: g.add_route("end_round", str, ["end"]), "belongs to the framework"),
        (lambda g: g.add_route("detect", str, []), "has no destinations"),
        (lambda g: g.insert_before("detct", "plan", nothing), "no node 'detct'; nodes: begin"),
        (lambda g: g.insert_before("begin_round", "x", nothing), "insert_after('begin_round'"),
        (lambda g: g.insert_after("detect", "x", nothing), "it has a route"),
    ],
)
def test_shape_edits_that_cannot_work_are_refused_at_once(change: Any, message: str) -> None:
    with pytest.raises(PluginError, match=message.replace("(", r"\(").replace(")", r"\)")):
        shaped(change)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.add_edge("verify", "nowhere"),
         "graph edge 'verify' -> 'nowhere': no such node; allowed: detect, locate"),
        (lambda g: g.add_route("detect", str, ["locate", "verfy"]),
         "route after 'detect' names 'verfy': no such node; allowed: detect, locate"),
        (lambda g: g.add_edge("ghost", "detect"), "graph edge 'ghost' -> 'detect': no node"),
        (lambda g: g.add_edge("verify", "end"), "leads to 'end'; a round ends at 'end_round'"),
        (lambda g: g.add_edge("correct", "begin_round"), "leads to 'begin_round'"),
        (lambda g: g.add_node("orphan", nothing), "'orphan' has no edge or route out"),
        (lambda g: (g.add_node("orphan", nothing), g.add_edge("orphan", "verify")),
         "'orphan' cannot be reached from begin_round"),
        (lambda g: (g.add_node("spin", nothing), g.remove_edge("verify", "end_round"),
                    g.add_edge("verify", "spin"), g.add_edge("spin", "spin")),
         "'verify', 'spin' never lead to end_round"),
        (lambda g: (g.add_node("spin", nothing), g.add_edge("verify", "spin"),
                    g.add_edge("spin", "spin")),
         "'spin' never lead to end_round"),
        (lambda g: (g.insert_before("detect", "plan", nothing), g.remove_node("plan")),
         "graph edge 'begin_round' -> 'plan': no such node; allowed"),
    ],
)  # fmt: skip
def test_a_shape_that_cannot_run_is_refused_naming_the_way(change: Any, message: str) -> None:
    with pytest.raises(PluginError) as refused:
        shaped(change)
    assert message in str(refused.value)


def test_a_failing_shape_method_is_one_plugin_error() -> None:
    with pytest.raises(PluginError, match=r"Shaped.shape failed: KeyError: 'oops'"):
        shaped(lambda g: {}["oops"])


def test_insertions_rewire_edges_and_routes() -> None:
    shape = shaped(
        lambda g: (
            g.insert_before("detect", "plan", nothing),
            g.insert_before("verify", "check", nothing),
            g.insert_after("begin_round", "warm", nothing),
        )
    )
    assert [shape.edges[n] for n in ("begin_round", "warm", "plan")] == ["warm", "plan", "detect"]
    assert shape.routes["detect"].destinations == ("locate", "check")
    assert shape.edges["correct"] == "check" and shape.edges["check"] == "verify"
    # the strategy's router still answers "verify"; it now means the inserted node
    assert shape.routes["detect"].router({"verdict": "correct"}) == "check"


class Stray(SinglePass):
    """Routes after detect by item key; raises in a router or a node on request."""

    name = "stray"
    mode = "route"

    def route_after_detect(self, state: RefineState) -> str:
        if self.mode == "route":
            return "end"
        if self.mode == "raise":
            raise ValueError("router bug")
        return super().route_after_detect(state)

    async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
        if self.mode == "node":
            raise ZeroDivisionError("node bug")
        if self.mode == "owned":
            return {"round": 7}
        if self.mode == "typo":
            return {"verifed": True, **await super().verify(state, ctx)}
        return await super().verify(state, ctx)


def run_stray(plugins: Any, data_dir: Path, mode: str) -> tuple[dict, list[Any]]:
    class Mode(Stray):
        pass

    Mode.mode = mode
    state, steps, _ = run_item(plugins, data_dir, Mode, CORRECT)
    return state, steps


def test_a_bad_route_at_run_time_names_the_route_and_the_allowed_ones(
    plugins: Any, data_dir: Path
) -> None:
    with pytest.raises(RouteError, match=r"after 'detect' returned 'end'; allowed: locate, verify"):
        run_stray(plugins, data_dir, "route")


def test_router_and_node_exceptions_name_where_they_happened(plugins: Any, data_dir: Path) -> None:
    with pytest.raises(NodeFailed) as failed:
        run_stray(plugins, data_dir, "raise")
    assert failed.value.node == "route:detect" and isinstance(failed.value.error, ValueError)
    with pytest.raises(NodeFailed) as failed:
        run_stray(plugins, data_dir, "node")
    assert failed.value.node == "verify" and "node bug" in str(failed.value)


def test_node_updates_are_checked(plugins: Any, data_dir: Path) -> None:
    with pytest.raises(NodeFailed, match="round: kept by the framework"):
        run_stray(plugins, data_dir, "owned")
    state, steps = run_stray(plugins, data_dir, "typo")
    assert state["verified"] is True and "verifed" not in state
    assert "ignored update 'verifed': not a state field" in steps[-1].notes


def test_after_round_accepts_the_v1_and_end_names_and_refuses_others(
    plugins: Any, data_dir: Path
) -> None:
    for answer in ("end", "__end__", "END"):

        class Ends(SinglePass):
            def route_after_verify(self, state: RefineState, _a: str = answer) -> str:
                return _a

        state, _, _ = run_item(plugins, data_dir, Ends, CORRECT, max_rounds=3)
        assert len(state["rounds"]) == 1

    class Again(SinglePass):
        def route_after_verify(self, state: RefineState) -> str:
            return "detect"  # v1: another round; the framework stops at max_rounds

    state, steps, _ = run_item(plugins, data_dir, Again, CORRECT, max_rounds=3)
    assert len(state["rounds"]) == 3 and nodes_of(steps)[-1] == (3, "verify")

    class Stops(SinglePass):
        def route_after_verify(self, state: RefineState) -> str:
            return "stop"

    with pytest.raises(RouteError, match=r"returned 'stop'; allowed: 'detect' .* or 'end'"):
        run_item(plugins, data_dir, Stops, CORRECT, max_rounds=3)


REJECTED = {
    "nodes": {
        "detect": "Correctness: Correct",
        "verify": ["Verification: Rejected (step 2)", "Verification: Confirmed"],
    }
}


def test_the_carry_is_typed_and_reaches_the_next_round(plugins: Any, data_dir: Path) -> None:
    state, _, backend = run_item(plugins, data_dir, "multi_round", REJECTED, max_rounds=3)
    assert state["carry"] == MultiRoundCarry(doubt="Verification: Rejected (step 2)")
    assert state["carry_next"] is None and len(state["rounds"]) == 2
    round2 = next(r for r in backend.history if r.tags.round == 2 and r.tags.node == "detect")
    assert "Verification: Rejected (step 2)" in round2.messages[-1].text

    class Untyped(MultiRound):
        async def verify(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
            return {**await super().verify(state, ctx), "carry_next": "a doubt as text"}

    with pytest.raises(NodeFailed, match=r"carry_next must be a MultiRoundCarry .*, not str"):
        run_item(plugins, data_dir, Untyped, REJECTED, max_rounds=3)


def test_a_v1_scratch_carry_still_reaches_the_next_round(plugins: Any, data_dir: Path) -> None:
    seen: list[Any] = []

    class V1(SinglePass):
        async def detect(self, state: RefineState, ctx: NodeContext) -> dict[str, Any]:
            seen.append(state["scratch"].get("carry"))
            update = await super().detect(state, ctx)
            update["scratch"]["carry_next"] = f"from round {state['round']}"
            return update

        def route_after_verify(self, state: RefineState) -> str:
            return "detect"

    run_item(plugins, data_dir, V1, CORRECT, max_rounds=2)
    assert seen == [None, "from round 1"]


def test_declared_options_are_checked_and_v1_options_are_free() -> None:
    with pytest.raises(ConfigError, match=r"strategy.options.max_round: multi_round has no"):
        MultiRound(StrategyConfig(name="multi_round", options={"max_round": 2}))

    class V1(SinglePass):  # declares no options_doc of its own: reads what it likes
        name = "v1"

    assert V1(StrategyConfig(options={"anything": 1})).options == {"anything": 1}
