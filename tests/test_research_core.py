"""The research core: typed records, the public API, failures inside their item, resume."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import DATA_DIR
from helpers import SCRIPT, mmrefine, scripted_run
from hypothesis import given, settings
from hypothesis import strategies as st

import mmrefine_agent
from mmrefine_agent.errors import RunDirError
from mmrefine_agent.records.models import (
    SCHEMA_VERSION,
    CallRecord,
    CallUsage,
    ItemResult,
    MessageSummary,
    RoundJudgment,
    RoundSummary,
    StepEvent,
)
from mmrefine_agent.records.rundir import RunDir, read_records, record_json

RAISING_STRATEGY = """
from mmrefine_agent import hookimpl
from mmrefine_strategies.single_pass import SinglePass


class Flaky(SinglePass):
    name = "flaky"

    async def locate(self, state, ctx):
        if ctx.item.key.startswith(BAD):
            raise ValueError("boom in plugin code")
        return await super().locate(state, ctx)


@hookimpl
def mmrefine_register_strategies(register):
    register("flaky", Flaky)
"""

OBSERVER = """
import json
import os
from mmrefine_agent import hookimpl


@hookimpl
def mmrefine_run_started(run):
    with open(os.environ["OBSERVED"], "a") as f:
        entry = {"started": str(run.run_dir), "strategy": run.config.strategy.name}
        f.write(json.dumps(entry) + "\\n")


@hookimpl
def mmrefine_observe_item(result, run):
    with open(os.environ["OBSERVED"], "a") as f:
        entry = {"item": result.key, "status": result.status, "dir": str(run.run_dir)}
        f.write(json.dumps(entry) + "\\n")
"""


def plugin_module(tmp_path: Path, name: str, source: str) -> dict[str, str]:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return {"PYTHONPATH": str(tmp_path), "MMREFINE_PLUGINS": name}


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_a_raising_strategy_fails_only_its_item(tmp_path: Path) -> None:
    first = lines_of_parquet_keys(2)
    source = RAISING_STRATEGY.replace("BAD", repr(first[0]))
    env = plugin_module(tmp_path, "flaky_plugin", source)
    out = tmp_path / "run"
    result = scripted_run(out, "--set", "strategy.name=flaky", limit=4, env=env)
    assert result.returncode == 1, result.stderr  # incomplete
    assert "Traceback" not in result.stdout + result.stderr
    assert "strategy_error" in result.stdout and "boom in plugin code" in result.stdout
    records = {r["key"]: r for r in lines(out / "results.jsonl")}
    assert records[first[0]]["status"] == "strategy_error"
    failure = records[first[0]]["failure"]
    assert failure["node"] == "locate" and failure["exception"] == "ValueError"
    assert sum(r["status"] == "ok" for r in records.values()) == 3
    failing = [s for s in lines(out / "steps.jsonl") if s.get("error")]
    assert failing and "ValueError" in failing[0]["error"]["traceback"]
    scores = json.loads((out / "scores.json").read_text())
    assert scores["completeness"]["complete"] is False
    assert scores["completeness"]["failed"] == {"strategy_error": 1}


def lines_of_parquet_keys(n: int) -> list[str]:
    from mmrefine_agent.config import load_config
    from mmrefine_agent.data.run_slice import load_run_items

    config = load_config(Path("configs/paper_single_pass.yaml"), [f"data.limit={n}"])
    return [item.key for item in load_run_items(config)[1].items]


def test_every_record_line_carries_its_version_and_reads_back_typed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert scripted_run(out, limit=3).returncode == 0
    for name in ("steps.jsonl", "results.jsonl", "judgments.jsonl"):
        assert all(r["version"] == SCHEMA_VERSION for r in lines(out / name)), name
    for name in ("scores.json", "usage.json", "fingerprint.json"):
        assert json.loads((out / name).read_text())["version"] == SCHEMA_VERSION
    run = mmrefine_agent.open_run(out)
    assert all(isinstance(r, ItemResult) and r.status == "ok" for r in run.results)
    assert {r.key for r in run.results} == set(run.items)
    assert all(isinstance(s, StepEvent) for s in run.steps)
    assert run.scores is not None and run.scores.completeness.complete
    assert run.config.strategy.name == "single_pass"
    assert run.judgments and run.judgments[0].judge == "offline"
    frame = run.steps_frame()
    assert len(frame) == len(run.steps) and "parsed.verdict" in frame.columns


def test_an_unknown_major_version_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert scripted_run(out, limit=2).returncode == 0
    path = out / "results.jsonl"
    records = lines(path)
    records[1]["version"] = 99
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(RunDirError, match=r"results\.jsonl: line 2: schema version 99"):
        RunDir(out).results()
    trace = mmrefine("trace", str(out), records[0]["key"])
    assert trace.returncode == 2 and "line 2" in trace.stderr
    assert "Traceback" not in trace.stderr


def test_a_changed_plugin_source_is_refused_on_resume(tmp_path: Path) -> None:
    env = plugin_module(tmp_path, "flaky_plugin", RAISING_STRATEGY.replace("BAD", "'never'"))
    out = tmp_path / "run"
    assert scripted_run(out, "--set", "strategy.name=flaky", limit=2, env=env).returncode == 0
    (tmp_path / "flaky_plugin.py").write_text(
        (tmp_path / "flaky_plugin.py").read_text() + "\n# edited\n"
    )
    again = scripted_run(out, "--set", "strategy.name=flaky", limit=2, env=env)
    assert again.returncode == 2
    message = " ".join(again.stderr.split())
    assert "plugin module 'flaky_plugin'" in message and "changed" in message
    assert "--restart" in message
    restarted = scripted_run(out, "--set", "strategy.name=flaky", "--restart", limit=2, env=env)
    assert restarted.returncode == 0, restarted.stderr


def test_changed_data_is_refused_and_nothing_finished_is_dropped(tmp_path: Path) -> None:
    import shutil

    from test_dataset import _write_rows

    from mmrefine_agent.data.mmrefine import read_rows

    out = tmp_path / "run"
    parquet = tmp_path / "data.parquet"
    shutil.copy(DATA_DIR / "MMRefine_test.parquet", parquet)
    assert scripted_run(out, "--set", f"data.parquet={parquet}", limit=3).returncode == 0
    rows = read_rows(parquet)
    rows[0]["question"] = "changed"
    _write_rows(parquet, rows)
    before = (out / "results.jsonl").read_text()
    again = scripted_run(out, "--set", f"data.parquet={parquet}", limit=3)
    assert again.returncode == 2 and "sha256" in again.stderr
    assert (out / "results.jsonl").read_text() == before


def test_observers_get_run_context(tmp_path: Path) -> None:
    observed = tmp_path / "observed.jsonl"
    env = {**plugin_module(tmp_path, "observer_plugin", OBSERVER), "OBSERVED": str(observed)}
    out = tmp_path / "run"
    assert scripted_run(out, limit=2, env=env).returncode == 0
    seen = lines(observed)
    assert seen[0] == {"started": str(out), "strategy": "single_pass"}
    assert sorted(e["status"] for e in seen[1:]) == ["ok", "ok"]
    assert all(e["dir"] == str(out) for e in seen[1:])
    listed = mmrefine("plugins", env=env)
    assert "observer_plugin" in listed.stdout and "mmrefine_observe_item" in listed.stdout


def test_a_run_with_no_items_exits_nonzero(tmp_path: Path) -> None:
    result = scripted_run(tmp_path / "r", "--set", "data.filter.keys=[nope]")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_trace_shows_what_the_judge_read_and_the_rule(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert scripted_run(out, limit=2).returncode == 0
    key = lines(out / "results.jsonl")[0]["key"]
    trace = mmrefine("trace", str(out), key)
    assert trace.returncode == 0, trace.stderr
    assert "response the judge read" in trace.stdout and "judge - round 1" in trace.stdout
    assert "->" in trace.stdout  # the rule that produced the scenario


def test_refine_item_and_run_through_the_public_api(tmp_path: Path) -> None:
    config = mmrefine_agent.load_config(
        Path("configs/paper_single_pass.yaml"),
        ["model.backend=scripted", f"model.options.script={SCRIPT}", "judge.name=offline",
         "data.limit=2"],
    )  # fmt: skip
    outcome = mmrefine_agent.run(config, tmp_path / "api")
    assert outcome.complete and outcome.n_done == 2
    key = mmrefine_agent.open_run(tmp_path / "api").results[0].key
    refined = mmrefine_agent.refine_item(key, config)
    assert refined.result.status == "ok" and refined.result.judgment is not None
    assert refined.steps[0].node == "detect"
    assert refined.judge_calls and refined.judge_calls[0].item_key == key


def test_public_names() -> None:
    for name in ("hookimpl", "Strategy", "NodeContext", "ModelBackend", "Judge", "RunConfig",
                 "load_config", "run", "open_run", "refine_item"):  # fmt: skip
        assert hasattr(mmrefine_agent, name), name
    assert (Path(mmrefine_agent.__file__).parent / "py.typed").is_file()


texts = st.text(max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    key=texts,
    answer=texts,
    parsed=st.dictionaries(texts, st.one_of(st.none(), st.integers(), texts), max_size=4),
    tokens=st.integers(min_value=0, max_value=10**6),
)
def test_step_records_round_trip(key: str, answer: str, parsed: dict, tokens: int) -> None:
    step = StepEvent(
        item_key=key,
        round=1,
        node="detect",
        strategy="s",
        calls=[
            CallRecord(
                messages=[MessageSummary(role="user", text=answer)],
                answer=answer,
                usage=CallUsage(input_tokens=tokens),
            )
        ],
        parsed=parsed,
    )
    back = StepEvent.model_validate_json(record_json(step))
    assert back == step and back.raw_answer == answer and back.tokens["input"] == tokens


@settings(max_examples=60, deadline=None)
@given(
    key=texts,
    response=texts,
    scenario=st.sampled_from(["VS", "FD", "RF", "ED", "EC", "RS", "judge_error"]),
    step=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
)
def test_result_records_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    key: str,
    response: str,
    scenario: str,
    step: int | None,
) -> None:
    record = ItemResult(
        key=key,
        status="ok",
        rounds=[RoundSummary(round=1, response=response, error_step=step)],
        round_judgments=[RoundJudgment(round=1, judge="j", scenario=scenario)],
    )
    path = tmp_path_factory.mktemp("rt") / "results.jsonl"
    path.write_text(record_json(record) + "\n", encoding="utf-8")
    assert read_records(path, ItemResult) == [record]
