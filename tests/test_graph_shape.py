"""Strategies shape their graph: added nodes, checked routes, max_rounds in one place."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, mmrefine, scripted_run

from mmrefine_agent.config import StrategyConfig
from mmrefine_agent.errors import PluginError
from mmrefine_agent.graph.builder import build_graph

README_PLUGIN = re.search(
    r"### Writing a strategy plugin\n.*?```python\n(.*?)```",
    (ROOT / "README.md").read_text(),
    re.S,
)

BAD_ROUTE = """
from mmrefine_agent import hookimpl
from mmrefine_strategies.single_pass import SinglePass


class Lost(SinglePass):
    name = "lost"

    def route_after_detect(self, state):
        return "end" if state["item_key"].startswith(BAD) else super().route_after_detect(state)


@hookimpl
def mmrefine_register_strategies(register):
    register("lost", Lost)
"""


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_plan_first_runs_and_its_plan_steps_are_traced(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = tmp_path / "script.yaml"
    script.write_text(
        (ROOT / "tests/data/script_single_pass.yaml").read_text()
        + 'nodes:\n  plan: "1. check step 2"\n'
    )
    result = mmrefine(
        "run", "configs/paper_single_pass.yaml", "--plugin", "examples/plan_first.py",
        "--limit", "3", "--out", str(out), "--quiet",
        "--set", "strategy.name=plan_first", "--set", "model.backend=scripted",
        "--set", f"model.options.script={script}", "--set", "judge.name=offline",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    steps = lines(out / "steps.jsonl")
    plans = [s for s in steps if s["node"] == "plan"]
    assert len(plans) == 3 and all(s["raw_answer"] == "1. check step 2" for s in plans)
    detect = next(s for s in steps if s["node"] == "detect")
    assert "Use this checking plan" in detect["prompt"][-1]["text"]
    drawn = mmrefine("graph", "plan_first", "--plugin", "examples/plan_first.py")
    assert drawn.returncode == 0 and "begin_round -> plan" in drawn.stdout
    assert "plan -> detect" in drawn.stdout


SINGLE_PASS_DRAWN = """\
single_pass: paper protocol: one official-prompt call, parsed by the nodes (max_rounds 2)
  START -> begin_round
  begin_round -> detect
  detect -?-> locate | verify   (route: route_after_detect)
  locate -> correct
  correct -> verify
  verify -> end_round
  end_round -?-> begin_round | END   (route: after_round)
options: none
"""


def test_graph_command_snapshot_of_single_pass() -> None:
    drawn = mmrefine("graph", "single_pass", "--set", "strategy.max_rounds=2")
    assert drawn.returncode == 0, drawn.stderr
    assert drawn.stdout == SINGLE_PASS_DRAWN


def test_plan_first_loads_as_a_module_too_and_documents_its_option() -> None:
    env = {"PYTHONPATH": str(ROOT / "examples")}
    drawn = mmrefine("graph", "plan_first", "--plugin", "plan_first", env=env)
    assert drawn.returncode == 0, drawn.stderr
    assert "begin_round -> plan" in drawn.stdout and "strategy.options.plan_points" in drawn.stdout
    typo = mmrefine(
        "graph", "plan_first", "--plugin", "plan_first", "--set", "strategy.options.points=3",
        env=env,
    )  # fmt: skip
    assert typo.returncode == 2 and "did you mean 'plan_points'" in typo.stderr


BAD_EDGE = """
from mmrefine_agent import hookimpl
from mmrefine_strategies.single_pass import SinglePass


class BadEdge(SinglePass):
    name = "bad_edge"

    def shape(self, graph):
        graph.add_edge("verify", "nowhere")


@hookimpl
def mmrefine_register_strategies(register):
    register("bad_edge", BadEdge)
"""


def test_a_badly_shaped_graph_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "bad_edge.py").write_text(BAD_EDGE)
    out = tmp_path / "run"
    result = scripted_run(
        out, "--plugin", str(tmp_path / "bad_edge.py"), "--set", "strategy.name=bad_edge", limit=2
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "graph edge 'verify' -> 'nowhere': no such node; allowed" in result.stderr
    assert not out.exists()


def test_graph_command_draws_the_four_nodes_and_the_round_nodes() -> None:
    drawn = mmrefine("graph", "multi_round")
    assert drawn.returncode == 0, drawn.stderr
    for node in ("begin_round", "detect", "locate", "correct", "verify", "end_round"):
        assert node in drawn.stdout
    mermaid = mmrefine("graph", "multi_round", "--mermaid")
    assert mermaid.returncode == 0 and "graph TD" in mermaid.stdout
    typo = mmrefine("graph", "multi_rnd")
    assert typo.returncode == 2 and "did you mean 'multi_round'" in typo.stderr


def test_a_bad_route_fails_its_item_naming_the_allowed_routes(tmp_path: Path) -> None:
    from test_research_core import lines_of_parquet_keys

    first = lines_of_parquet_keys(1)[0]
    (tmp_path / "lost_plugin.py").write_text(textwrap.dedent(BAD_ROUTE.replace("BAD", repr(first))))
    env = {"PYTHONPATH": str(tmp_path), "MMREFINE_PLUGINS": "lost_plugin"}
    out = tmp_path / "run"
    result = scripted_run(out, "--set", "strategy.name=lost", limit=3, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    records = {r["key"]: r for r in lines(out / "results.jsonl")}
    assert records[first]["status"] == "strategy_error"
    assert "allowed: locate, verify" in records[first]["error"]
    assert sum(r["status"] == "ok" for r in records.values()) == 2


def test_a_bad_edge_is_refused_when_the_graph_is_compiled(plugins: Any) -> None:
    base = plugins.strategies.get("single_pass")

    class Broken(base):  # type: ignore[misc, valid-type]
        def shape(self, graph: Any) -> None:
            graph.add_edge("verify", "nowhere")

    with pytest.raises(PluginError, match="'verify' -> 'nowhere': no such node; allowed"):
        build_graph(Broken(StrategyConfig()))


@pytest.mark.parametrize(("strategy", "rounds"), [("multi_round", 2), ("self_critique", 2)])
def test_max_rounds_is_respected(plugins: Any, data_dir: Path, strategy: str, rounds: int) -> None:
    from test_graph import run_item

    answers = {"default": "???", "nodes": {"critique": "Critique Verdict: REVISE"}}
    state, steps, _ = run_item(plugins, data_dir, strategy, answers, max_rounds=rounds)
    assert len(state["rounds"]) == rounds and max(s.round for s in steps) == rounds


def test_the_readme_plugin_example_still_runs(tmp_path: Path) -> None:
    assert README_PLUGIN is not None, "README lost its plugin example"
    (tmp_path / "readme_plugin.py").write_text(README_PLUGIN.group(1))
    out = tmp_path / "run"
    result = scripted_run(
        out, "--plugin", str(tmp_path / "readme_plugin.py"), "--set", "strategy.name=cautious",
        limit=2,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    detect = next(s for s in lines(out / "steps.jsonl") if s["node"] == "detect")
    assert detect["prompt"][-1]["text"].startswith("Be careful.")
