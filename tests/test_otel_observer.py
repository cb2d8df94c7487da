"""The ``otel`` observer: spans over OTLP/HTTP to a loopback receiver started by the test."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, JudgeScript

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.run import RunOutcome, arun
from mmrefine_agent.plugins_manager import load_plugins

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
pytest.importorskip("opentelemetry.proto")
from otlp_receiver import OtlpReceiver, Span

REFINE_PROMPT = "You are a mathematical expert"
JUDGE_PROMPT = "Given the model's response"


def traced_run(out: Path, server: FakeOpenAI, endpoint: str, *extra: str) -> RunOutcome:
    """The paper protocol on 6 items, model and official judge on the loopback server."""
    config = build_config(
        {"name": "traced"},
        [
            "data.limit=6",
            "data.balanced=true",
            "strategy.name=single_pass",
            "model.backend=openai_compat",
            "model.name=refiner",
            f"model.api_base={server.base_url}",
            "judge.name=mmrefine_official",
            "judge.backend=openai_compat",
            "judge.model=judge",
            f"judge.api_base={server.base_url}",
            f"observers.otel.endpoint={endpoint}",
            *extra,
        ],
    )
    return asyncio.run(arun(config, out, plugins=load_plugins()))


def by_trace(spans: list[Span]) -> dict[str, list[Span]]:
    traces: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    return traces


def test_item_node_call_and_judge_spans_reach_the_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_TEST_TOKEN", "tok-1234567890")
    with FakeOpenAI(JudgeScript()) as server, OtlpReceiver() as receiver:
        outcome = traced_run(
            tmp_path / "r", server, receiver.url,
            "observers.otel.headers.x-collector-token=${OTEL_TEST_TOKEN}",
        )  # fmt: skip
        spans = receiver.spans()
    assert outcome.complete and not outcome.errors
    assert f"otel: {len(spans)} span(s) sent to {receiver.url}/v1/traces" in capsys.readouterr().err
    assert set(receiver.paths) == {"/v1/traces"}  # a base URL gets the traces path
    assert all(h.get("x-collector-token") == "tok-1234567890" for h in receiver.headers)
    config_text = (tmp_path / "r" / "config.yaml").read_text()
    assert "${OTEL_TEST_TOKEN}" in config_text and "tok-1234567890" not in config_text

    results = {
        r["key"]: r
        for r in map(json.loads, (tmp_path / "r" / "results.jsonl").read_text().splitlines())
    }
    steps: dict[str, list[str]] = defaultdict(list)
    for line in (tmp_path / "r" / "steps.jsonl").read_text().splitlines():
        step = json.loads(line)
        steps[step["item_key"]].append(step["node"])
    traces = by_trace(spans)
    assert len(traces) == len(results) == 6  # one trace per item
    for trace in traces.values():
        (item,) = [s for s in trace if s.name == "mmrefine.item"]
        assert item.parent_id == "" and item.resource["service.name"] == "mmrefine-agent"
        key = item.attributes["mmrefine.item.key"]
        result = results[key]
        assert item.attributes["mmrefine.scenario"] == result["judgment"]["scenario"]
        assert item.attributes["mmrefine.label"] == result["label"]
        scenario = result["judgment"]["scenario"]
        assert item.attributes["mmrefine.round_scenarios"] == [f"1:{scenario}"]
        nodes = {
            s.name: s
            for s in trace
            if s.parent_id == item.span_id and "mmrefine.node" in s.attributes
        }
        assert sorted(nodes) == sorted(steps[key]) and {"detect", "verify"} <= set(nodes)
        for node in nodes.values():
            assert node.attributes["mmrefine.item.key"] == key
            assert node.attributes["mmrefine.round"] == 1
            assert node.attributes["mmrefine.scenario"] == result["judgment"]["scenario"]
        (call,) = [s for s in trace if s.parent_id == nodes["detect"].span_id]
        assert call.name == "chat refiner" and call.kind == 3  # SPAN_KIND_CLIENT
        attributes = call.attributes
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.system"] == "openai"
        assert attributes["gen_ai.request.model"] == "refiner"
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
        assert attributes["mmrefine.item.key"] == key and attributes["mmrefine.round"] == 1
        judges = [s for s in trace if "mmrefine.judge.call" in s.attributes]
        calls = {s.attributes["mmrefine.judge.call"] for s in judges}
        if result["label"] == "correct":
            assert calls == {"eval_correct"}
        else:
            assert "eval_incorrect" in calls and len(judges) == 4
        for judge in judges:
            assert judge.parent_id == item.span_id and judge.name == "chat judge"
            assert judge.attributes["gen_ai.request.model"] == "judge"
            assert judge.attributes["gen_ai.system"] == "openai"
            assert judge.attributes["mmrefine.scenario"] == result["judgment"]["scenario"]
            assert item.start_ns <= judge.start_ns <= judge.end_ns <= item.end_ns
    # no prompt or reply text without capture_content
    for span in spans:
        assert "gen_ai.input.messages" not in span.attributes
        assert "gen_ai.output.messages" not in span.attributes
    raw = b"".join(receiver.bodies)
    for text in (REFINE_PROMPT, JUDGE_PROMPT, "Correctness: ", "Final Answer"):
        assert text.encode() not in raw, text


def test_capture_content_attaches_prompts_and_replies(tmp_path: Path) -> None:
    with FakeOpenAI(JudgeScript()) as server, OtlpReceiver() as receiver:
        outcome = traced_run(tmp_path / "r", server, f"{receiver.url}/v1/traces",
                             "observers.otel.capture_content=true", "data.limit=2")  # fmt: skip
        spans = receiver.spans()
    assert outcome.complete
    calls = [s for s in spans if s.name == "chat refiner"]
    judges = [s for s in spans if s.name == "chat judge"]
    assert calls and judges
    for span in calls:
        messages: list[dict[str, Any]] = json.loads(span.attributes["gen_ai.input.messages"])
        assert messages[-1]["role"] == "user"
        assert messages[-1]["parts"][0]["content"].startswith(REFINE_PROMPT)
        reply = json.loads(span.attributes["gen_ai.output.messages"])
        assert "Correctness:" in reply[0]["parts"][0]["content"]
    prompts = [json.loads(s.attributes["gen_ai.input.messages"]) for s in judges]
    assert all(p[0]["parts"][0]["content"] for p in prompts)


def test_a_dead_collector_leaves_the_run_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with FakeOpenAI(JudgeScript()) as server:
        outcome = traced_run(tmp_path / "r", server, f"http://127.0.0.1:{port}", "data.limit=2")
    assert outcome.complete and not outcome.errors
    assert (tmp_path / "r" / "scores.json").is_file()
    err = capsys.readouterr().err
    assert "warning: otel:" in err and "not delivered" in err and "run itself is complete" in err
    assert "Traceback" not in err
