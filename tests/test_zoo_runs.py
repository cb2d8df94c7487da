"""The strategy zoo end to end: the zoo sweep against a loopback server, the gold-use flag
through run, report, compare and sweep, per-round correction in compare, and the gain and
cost-per-point figures of a sweep summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, official_answer, user_text
from helpers import ROOT, mmrefine, scripted_run

from mmrefine_agent.analysis.round_compare import paired_round_correction
from mmrefine_agent.analysis.step_outcomes import StepOutcome
from mmrefine_agent.analysis.sweep_gain import with_gains
from mmrefine_agent.records.models import CellSummary


def zoo_answer(body: dict[str, Any]) -> str:
    """A server that answers every zoo prompt in the form it asks for."""
    text = user_text(body)
    if "Choice: <the number" in text:
        return "The first review is the most accurate.\nChoice: 1"
    if "verification questions whose answers" in text:
        return "1. What does step 1 compute?\n2. Is the final value consistent?"
    if "Answer this one question" in text:
        return "It checks out."
    if "diagnose what most likely went wrong" in text:
        return "I accepted step 2 too quickly; next time recompute it."
    return official_answer(len(text) % 3 == 0, "42") + "\nProposed Answer: 42"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_the_zoo_sweep_runs_on_two_datasets_against_a_loopback_server(tmp_path: Path) -> None:
    out = tmp_path / "zoo"
    with FakeOpenAI(zoo_answer) as server:
        done = mmrefine(
            "sweep", "configs/strategy_zoo.yaml", "--out", str(out), "--quiet", "--limit", "2",
            "--set", f"model.api_base={server.base_url}",
            "--set", "grid.data.name=[prmbench, bigbench_mistake]",
        )  # fmt: skip
        sent = list(server.requests)
    assert done.returncode == 0, done.stderr + done.stdout[-3000:]
    sweep = json.loads((out / "sweep.json").read_text())
    cells = {c["cell"]: c for c in sweep["cells"]}
    strategies = ["single_pass", "self_refine", "critic", "cove", "debate", "best_of_n",
                  "reflexion", "critic_tools", "lookback", "tool_refine"]  # fmt: skip
    assert len(cells) == 20 and all(c["status"] == "ok" for c in cells.values())
    for dataset in ("prmbench", "bigbench_mistake"):
        base = f"data.name={dataset}__strategy.name=single_pass"
        for strategy in strategies:
            cell = cells[f"data.name={dataset}__strategy.name={strategy}"]
            assert cell["n_judged"] == 2 and cell["refine_tokens"] > 0
            assert cell["uses_gold"] is (strategy == "reflexion")
            if strategy == "single_pass":
                assert cell["baseline"] is None
            else:
                assert cell["baseline"] == base and cell["gain"] is not None
            scores = json.loads((out / cell["cell"] / "scores.json").read_text())
            assert scores["step_metrics"]["dataset"] == dataset
            assert scores["uses_gold"] is (strategy == "reflexion")
            steps = {s["node"] for s in lines(out / cell["cell"] / "steps.jsonl")}
            assert {"detect", "verify"} <= steps
    # every strategy's own nodes made their calls over HTTP
    prompts = [user_text(b) for b in sent]
    assert any("Reviews by the other agents" in p for p in prompts)  # debate, round 2
    best = lines(out / "data.name=prmbench__strategy.name=best_of_n" / "steps.jsonl")
    assert [len(s["calls"]) for s in best if s["node"] == "sample"] == [1] * 8  # 4 branches each
    assert any("Answer this one question" in p for p in prompts)  # cove's factored checks
    summary = done.stdout
    assert "gain pts" in summary and "tokens/pt" in summary and "$/pt" in summary
    assert "put apart: the strategy used the gold answer" in summary
    main_table = summary.split("put apart")[0]
    assert "reflexion" not in main_table.split("sweep strategy_zoo")[-1]


def test_the_gold_flag_from_run_to_report_compare_and_sweep(tmp_path: Path) -> None:
    plain, gold = tmp_path / "single", tmp_path / "reflexion"
    common = ("--set", "strategy.max_rounds=2", "--set", "judge.per_round=true")
    assert scripted_run(plain, *common, limit=4).returncode == 0
    done = scripted_run(gold, "--set", "strategy.name=reflexion", *common, limit=4)
    assert done.returncode == 0, done.stderr
    assert "uses gold:" in done.stdout
    assert all(r["uses_gold"] for r in lines(gold / "results.jsonl"))
    assert not any(r["uses_gold"] for r in lines(plain / "results.jsonl"))
    assert json.loads((gold / "scores.json").read_text())["uses_gold"] is True
    assert json.loads((plain / "scores.json").read_text())["uses_gold"] is False
    report = mmrefine("report", str(gold))
    assert report.returncode == 0 and "uses gold:" in report.stdout
    key = lines(gold / "results.jsonl")[0]["key"]
    assert "uses gold" in mmrefine("trace", str(gold), key).stdout
    assert "uses gold:" not in mmrefine("report", str(plain)).stdout
    apart = json.loads(mmrefine("compare", str(plain), str(gold), "--json").stdout)
    assert [r["label"] for r in apart["runs"]] == ["single"] and apart["paired"] == []
    assert [r["label"] for r in apart["apart"]] == ["reflexion"]
    assert any("put apart" in w for w in apart["warnings"])
    shown = mmrefine("compare", str(plain), str(gold))
    assert shown.returncode == 0 and "put apart: the strategy used the gold answer" in shown.stdout
    both = json.loads(mmrefine("compare", str(plain), str(gold), "--json", "--include-gold").stdout)
    assert [r["uses_gold"] for r in both["runs"]] == [False, True] and len(both["paired"]) == 1
    assert "(uses gold)" in mmrefine("compare", str(plain), str(gold), "--include-gold").stdout
    plugins = mmrefine("plugins")
    row = next(x for x in plugins.stdout.splitlines() if "│ reflexion" in x)
    assert "(uses gold)" in row


def test_compare_pairs_the_per_round_answer_correction(tmp_path: Path) -> None:
    one, two = tmp_path / "one_round", tmp_path / "two_rounds"
    common = ("--set", "data.name=bigbench_mistake", "--set", "strategy.name=multi_round")
    script = tmp_path / "script.yaml"
    script.write_text(
        "nodes:\n"
        "  detect: 'Correctness: Incorrect'\n"
        "  locate: 'Error found in step 1: wrong.'\n"
        "  correct: ['Step 1: redo.\\nFinal Answer: nope', 'Step 1: redo.\\nFinal Answer: 4']\n"
        "  verify: ['Verification: Rejected\\nFinal Answer: nope', "
        "'Verification: Confirmed\\nFinal Answer: 4']\n"
    )
    for out, rounds in ((one, 1), (two, 2)):
        done = scripted_run(
            out, *common, "--set", f"strategy.max_rounds={rounds}",
            "--set", f"model.options.script={script}", limit=4,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    comparison = json.loads(mmrefine("compare", str(one), str(two), "--json").stdout)
    rounds = comparison["paired"][0]["round_correction"]
    assert rounds["n_shared"] == 4 and rounds["rounds"] == {"a": 1, "b": 2}
    metrics = rounds["metrics"]
    assert set(metrics) == {"accuracy_t1", "accuracy_last", "delta", "incorrect_to_correct",
                            "correct_to_incorrect"}  # fmt: skip
    for entry in metrics.values():
        assert set(entry) == {"a", "b", "diff", "a_ci95", "b_ci95", "ci95"}
    assert metrics["accuracy_t1"]["diff"] == 0.0  # round 1 is the same in both runs
    shown = mmrefine("compare", str(one), str(two))
    assert shown.returncode == 0 and "answers across rounds, two_rounds - one_round" in shown.stdout


def outcome(key: str, problem: str, answers: tuple[bool, ...]) -> StepOutcome:
    return StepOutcome(
        key=key, problem=problem, category=None, label="incorrect", reference_step=1,
        verdict="incorrect", flagged_step=1, has_gold=True, answers_right=answers,
        n_rounds=len(answers),
    )  # fmt: skip


def test_paired_round_correction_on_hand_built_trajectories() -> None:
    a = [outcome("k1", "p1", (False,)), outcome("k2", "p2", (True,)),
         outcome("k3", "p3", (False,)), outcome("k4", "p4", (True,))]  # fmt: skip
    b = [
        outcome("k1", "p1", (False, True)),
        outcome("k2", "p2", (True, False)),
        outcome("k3", "p3", (False, True)),
        outcome("k4", "p4", (True, True)),
        outcome("k5", "p5", (False, True)),
    ]  # fmt: skip  (k5: only in B, left out)
    result = paired_round_correction(a, b, resamples=200, seed=1)
    assert result is not None and result["n_shared"] == 4
    m = result["metrics"]
    assert m["accuracy_t1"]["a"] == 0.5 and m["accuracy_t1"]["b"] == 0.5
    assert m["accuracy_last"]["a"] == 0.5 and m["accuracy_last"]["b"] == 0.75
    assert m["delta"]["a"] == 0.0 and m["delta"]["b"] == 0.25 and m["delta"]["diff"] == 0.25
    assert m["incorrect_to_correct"]["b"] == 0.5 and m["correct_to_incorrect"]["b"] == 0.25
    lo, hi = m["delta"]["ci95"]
    assert lo <= 0.25 <= hi
    assert paired_round_correction(a[:1], [outcome("other", "p9", (True,))]) is None


def cell(name: str, strategy: str, refscore: float | None, tokens: int, **extra: Any) -> Any:
    return CellSummary(
        cell=name, values={"data.name": extra.pop("data", "d1"), "strategy.name": strategy},
        rates={"RefScore": refscore}, refine_tokens=tokens, refine_cost_usd=tokens / 1e6,
        **extra,
    )  # fmt: skip


def test_gain_and_cost_per_point_against_the_first_strategy() -> None:
    grid = {"data.name": ["d1", "d2"], "strategy.name": ["single_pass", "debate", "reflexion"]}
    rows = [
        cell("a", "single_pass", 0.10, 1000),
        cell("b", "debate", 0.15, 6000),  # +5 points for 5000 extra tokens
        cell("c", "reflexion", 0.30, 3000, uses_gold=True),
        cell("d", "debate", 0.05, 9000),  # a loss: no cost per point
        cell("e", "single_pass", 0.20, 500, data="d2"),
        cell("f", "debate", 0.25, 1500, data="d2"),
    ]
    rows[3].values["data.name"] = "d1"
    out = {r.cell: r for r in with_gains(rows, grid)}
    assert out["a"].baseline is None and out["a"].gain is None
    assert out["b"].baseline == "a" and out["b"].gain == 0.05
    assert out["b"].tokens_per_point == 1000.0 and out["b"].cost_per_point == 0.001
    assert out["c"].baseline == "a" and out["c"].uses_gold  # marked, measured, never a baseline
    assert out["d"].gain == -0.05 and out["d"].tokens_per_point is None
    assert out["f"].baseline == "e" and out["f"].tokens_per_point == 200.0
    assert with_gains(rows, {"data.name": ["d1"]}) == rows  # no strategy axis: no baseline


def test_the_zoo_config_names_every_built_in_strategy_and_dataset() -> None:
    import yaml

    raw = yaml.safe_load((ROOT / "configs/strategy_zoo.yaml").read_text())
    assert raw["grid"]["strategy.name"][0] == "single_pass"
    assert set(raw["grid"]["strategy.name"]) == {"single_pass", "self_refine", "critic", "cove",
                                                 "debate", "best_of_n", "reflexion",
                                                 "critic_tools", "lookback",
                                                 "tool_refine"}  # fmt: skip
    assert raw["grid"]["data.name"] == ["mmrefine", "prmbench", "bigbench_mistake", "mrben"]
    assert raw["model"]["backend"] == "openai_compat" and raw["judge"]["name"] == "offline"


def refine_twice(body: dict[str, Any]) -> str:
    """Feedback finds an error in the given solution, none in the refined one."""
    text = user_text(body)
    if text.startswith("Question:") and "Give feedback on the current solution" in text:
        refined = "Current solution:\nStep 1: redone." in text
        return official_answer(refined, "42", step=1)
    return "Step 1: redone.\nFinal Answer: 42"


@pytest.mark.parametrize("dataset", ["prmbench", "bigbench_mistake", "mrben"])
def test_a_multi_round_run_over_http_on_each_step_dataset(dataset: str, tmp_path: Path) -> None:
    out = tmp_path / dataset
    with FakeOpenAI(refine_twice) as server:
        done = mmrefine(
            "run", "configs/strategy_zoo.yaml", "--out", str(out), "--quiet", "--limit", "3",
            "--set", f"model.api_base={server.base_url}", "--set", f"data.name={dataset}",
            "--set", "strategy.name=self_refine",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    scores = json.loads((out / "scores.json").read_text())
    rates = scores["step_metrics"]["overall"]["rates"]
    assert {"erroneous_accuracy", "correct_accuracy", "localisation_f1"} <= set(rates)
    rounds = scores["round_correction"]
    assert rounds["rounds"] == 2
    report = mmrefine("report", str(out), "--by", "round")
    assert report.returncode == 0, report.stderr
    assert "harmonic mean" in report.stdout and "answers across rounds" in report.stdout
    assert "transitions round 1->2" in report.stdout
    if dataset == "prmbench":  # no gold final answer in PRMBench: said so, not made up
        assert rounds["n"] == 0 and rounds["note"] == "no item has a gold answer"
    else:
        assert rounds["n"] == 3 and rounds["rates"]["accuracy_t1"] is not None
        assert rounds["ci95"].keys() >= {"delta", "incorrect_to_correct"}


def test_options_by_strategy_give_each_cell_its_own_options() -> None:
    import yaml

    from mmrefine_agent.engine.sweep import expand_grid

    raw = yaml.safe_load((ROOT / "configs/strategy_zoo.yaml").read_text())
    raw["options_by_strategy"]["debate"]["agents"] = 2
    cells = {c.values["strategy.name"]: c.config for c in expand_grid(raw) if
             c.values["data.name"] == "mrben"}  # fmt: skip
    assert cells["debate"].strategy.options == {"agents": 2, "temperature": 0.7}
    assert cells["best_of_n"].strategy.options == {"n": 4, "temperature": 0.8}
    assert cells["single_pass"].strategy.options == {}
    typo = mmrefine("sweep", "configs/strategy_zoo.yaml", "--set",
                    "options_by_strategy.debate.agentz=2", "--out", "/nonexistent/zoo")  # fmt: skip
    assert typo.returncode == 2 and "did you mean 'agents'" in typo.stderr  # before any cell
