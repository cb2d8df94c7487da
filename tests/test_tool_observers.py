"""The observers see tool calls: an ``execute_tool`` span per tool run (otel), the tools each
item ran in W&B's items table (wandb). One scripted tool loop through ``mmrefine run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_openai import official_answer
from helpers import mmrefine
from test_tool_calls import SCRIPTED_CALLS, STRATEGY

pytest.importorskip("wandb")
pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
pytest.importorskip("opentelemetry.proto")
import yaml
from otlp_receiver import OtlpReceiver
from test_wandb_observer import WANDB
from wandb_files import offline_runs


def test_tool_runs_reach_otel_spans_and_the_wandb_items_table(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    final = official_answer(False, "8", step=2)
    turns = [{"tool_calls": SCRIPTED_CALLS}, final]
    script.write_text(yaml.safe_dump({"nodes": {"detect": {"turns": turns}}}))
    home = tmp_path / "wandb_home"
    env = {
        "WANDB_DATA_DIR": str(home / "data"),
        "WANDB_CACHE_DIR": str(home / "cache"),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_API_KEY": "",
        "WANDB_MODE": "offline",
    }
    out = tmp_path / "run"
    with OtlpReceiver() as receiver:
        done = mmrefine(
            "run", "configs/paper_single_pass.yaml", "--plugin", str(STRATEGY), "--limit", "1",
            "--out", str(out), "--quiet",
            "--set", "strategy.name=tool_loop", "--set", "strategy.tools=[calculator,zoom,python]",
            "--set", "data.filter.modality=image", "--set", "model.backend=scripted",
            "--set", f"model.options.script={script}", "--set", "judge.name=offline",
            "--set", f"observers.otel.endpoint={receiver.url}", *WANDB,
            env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        spans = receiver.spans()
    tools = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "execute_tool"]
    by_id = {s.attributes["gen_ai.tool.call.id"]: s for s in tools}
    assert sorted(by_id) == [c["id"] for c in SCRIPTED_CALLS] and len(tools) == len(by_id)
    assert {i: by_id[i].name for i in ("c1", "c2", "c3")} == {
        "c1": "execute_tool calculator", "c2": "execute_tool zoom", "c3": "execute_tool python",
    }  # fmt: skip
    detect = next(s for s in spans if s.name == "detect")
    assert all(detect.start_ns <= s.start_ns <= s.end_ns <= detect.end_ns for s in tools)
    assert all(s.parent_id == detect.span_id for s in tools)
    assert all("gen_ai.tool.call.arguments" not in s.attributes for s in tools)  # no content
    failed = {s.attributes["gen_ai.tool.call.id"] for s in tools if s.status == 2}
    assert failed == {"c4", "c5", "c6"}  # unknown tool, the tool raised, unreadable arguments
    (run,) = offline_runs(out)
    table = run.table("items")
    (row,) = [dict(zip(table["columns"], r, strict=True)) for r in table["data"]]
    (result,) = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert row["key"] == result["key"]
    assert row["tools"] == ["calculator", "nosuch", "python", "zoom"]
