"""The official judge end-to-end against a loopback server that answers like a judge."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fake_openai import FakeOpenAI, JudgeScript
from test_metrics import official_formula

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.rejudge import rejudge_run, score_submission
from mmrefine_agent.engine.run import arun
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES
from mmrefine_agent.plugins_manager import load_plugins

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mmrefine_sample_submission.json"


def make_config(server: FakeOpenAI, limit: int, *extra: str) -> Any:
    return build_config(
        {"name": "j"},
        [
            f"data.limit={limit}",
            "data.balanced=true",
            "strategy.name=single_pass",
            "model.backend=litellm",
            "model.name=openai/refiner",
            f"model.api_base={server.base_url}",
            "judge.name=mmrefine_official",
            "judge.model=openai/judge",
            f"judge.api_base={server.base_url}",
            "judge.retries=1",
            "run.backoff_s=0.01",
            *extra,
        ],
    )


def test_official_protocol_calls_cascade_and_formula(tmp_path: Path) -> None:
    script = JudgeScript()
    with FakeOpenAI(script) as server:
        outcome = asyncio.run(arun(make_config(server, 16), tmp_path / "r", plugins=load_plugins()))
    results = [json.loads(x) for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()]
    n_correct = sum(r["label"] == "correct" for r in results)
    n_incorrect = len(results) - n_correct
    assert script.calls["refine"] == 16
    assert script.calls["eval_correct"] <= n_correct
    assert script.calls["eval_incorrect"] <= n_incorrect
    # identical judge prompts may be answered from the call cache, so count both
    judge_usage = outcome.usage["judge"]
    assert judge_usage["calls"] + judge_usage["cache_hits"] == n_correct + 4 * n_incorrect
    judge_requests = sum(1 for b in server.requests if b["model"] == "judge")
    assert judge_requests == judge_usage["calls"]
    assert (
        script.calls["eval_correct"] + script.calls["eval_incorrect"] + script.calls["parsing"]
        == judge_requests
    )
    ledger = [json.loads(x) for x in (tmp_path / "r" / "judgments.jsonl").read_text().splitlines()]
    assert len(ledger) == n_correct + 4 * n_incorrect
    assert all(e["prompt"] and e["reply"] is not None for e in ledger)
    # the judge never sees the image
    judge_bodies = [b for b in server.requests if b["model"] == "judge"]
    assert all(isinstance(b["messages"][0]["content"], str) for b in judge_bodies)
    # scores equal the official evaluator's formula on the same judge answers
    names = [OFFICIAL_NAMES[r["judgment"]["scenario"]] for r in results]
    expected = official_formula(names, [r["label"] for r in results])
    rates = outcome.scores["overall"]["rates"]
    for key, value in expected.items():
        assert abs(rates[key] - value) < 1e-12, key
    submission = json.loads((tmp_path / "r" / "submission.json").read_text())
    assert len(submission) == 16
    assert all(e["judge"] in OFFICIAL_NAMES.values() for e in submission.values())


def test_garbage_judge_replies_become_judge_error_and_rejudge_fixes_them(tmp_path: Path) -> None:
    script = JudgeScript()
    with FakeOpenAI(script) as server:
        config = make_config(server, 8)
        from mmrefine_agent.data.datadir import resolve_data_dir
        from mmrefine_agent.data.mmrefine import load_items

        items = load_items(resolve_data_dir(), limit=8, balanced=True).items
        bad = next(i for i in items if i.label == "incorrect")
        script.garbage_for = {bad.initial_solution[:200]}
        outcome = asyncio.run(arun(config, tmp_path / "r", plugins=load_plugins()))
        assert outcome.scores["judge_errors"] == 1
        record = next(
            json.loads(x)
            for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()
            if json.loads(x)["key"] == bad.key
        )
        assert record["judgment"]["scenario"] == "judge_error"
        assert "not 0/1" in record["judgment"]["error"]
        # parsing calls are re-asked (retries=1) before giving up
        refine_calls = script.calls["refine"]
        script.garbage_for = set()
        again = asyncio.run(
            rejudge_run(
                tmp_path / "r", load_plugins(), overrides=[f"judge.api_base={server.base_url}"]
            )
        )
    assert script.calls["refine"] == refine_calls  # no refinement-model call when re-judging
    assert again.scores["judge_errors"] == 0
    assert again.usage["refine"]["calls"] == 0


def test_rejudge_with_another_judge_makes_no_model_call(tmp_path: Path) -> None:
    script = JudgeScript()
    with FakeOpenAI(script) as server:
        asyncio.run(arun(make_config(server, 6), tmp_path / "r", plugins=load_plugins()))
        before = len(server.requests)
        outcome = asyncio.run(
            rejudge_run(tmp_path / "r", load_plugins(), overrides=["judge.name=offline"])
        )
        assert len(server.requests) == before
    assert outcome.scores["is_proxy"] is True and outcome.scores["n_judged"] == 6
    # config.yaml keeps describing how the outputs were made; the judging session is recorded
    assert "mmrefine_official" in (tmp_path / "r" / "config.yaml").read_text()
    scores = json.loads((tmp_path / "r" / "scores.json").read_text())
    assert scores["judge_settings"]["name"] == "offline"
    usage = json.loads((tmp_path / "r" / "usage.json").read_text())
    assert usage["sessions"][-1]["kind"] == "judge"


def test_score_the_official_sample_submission(tmp_path: Path) -> None:
    script = JudgeScript()
    with FakeOpenAI(script) as server:
        outcome = asyncio.run(
            score_submission(
                SAMPLE,
                tmp_path / "s",
                load_plugins(),
                overrides=[
                    "judge.name=mmrefine_official",
                    "judge.model=openai/judge",
                    f"judge.api_base={server.base_url}",
                ],
            )
        )
    assert outcome.n_done == 2
    assert outcome.scores["overall"]["counts"]["n_correct"] == 1
    assert outcome.scores["overall"]["counts"]["n_incorrect"] == 1
    written = json.loads((tmp_path / "s" / "submission.json").read_text())
    original = json.loads(SAMPLE.read_text())
    assert set(written) == set(original)
    for key, entry in original.items():
        assert written[key]["prediction"] == entry["prediction"]
        assert written[key]["solution_label"] == entry["solution_label"]


def test_the_official_protocol_on_a_step_dataset_is_an_extension(tmp_path: Path) -> None:
    script = JudgeScript()
    with FakeOpenAI(script) as server:
        mrben = asyncio.run(
            arun(make_config(server, 4, "data.name=mrben"), tmp_path / "mrben",
                 plugins=load_plugins())
        )  # fmt: skip
        bbm = asyncio.run(
            arun(make_config(server, 4, "data.name=bigbench_mistake"), tmp_path / "bbm",
                 plugins=load_plugins())
        )  # fmt: skip
    scores = json.loads((tmp_path / "mrben" / "scores.json").read_text())
    assert "extension, not an MMRefine score" in scores["extension"] and mrben.complete
    assert scores["overall"]["n"] == 4  # Mr-Ben's error reasons are the reference feedback
    # BIG-Bench Mistake has no reference reasons: its incorrect items cannot be judged so
    lines = [json.loads(x) for x in (tmp_path / "bbm" / "results.jsonl").read_text().splitlines()]
    incorrect = [r for r in lines if r["label"] == "incorrect"]
    assert incorrect and all(r["status"] == "judge_error" for r in incorrect)
    assert all("no reference reason" in r["judgment"]["error"] for r in incorrect)
    assert not bbm.complete
