"""The HTTP backends end-to-end against real OpenAI-compatible servers on 127.0.0.1.

Every test runs through ``litellm`` and through the direct ``openai_compat`` backend.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, image_parts, user_text
from helpers import official_answer
from PIL import Image

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.run import arun


def refine_answer(body: dict[str, Any]) -> str:
    text = user_text(body)
    if "Correctness: Correct" in text and "Incorrect" not in text.split("Output your")[0]:
        pass
    if text.startswith("You are a mathematical expert"):
        return official_answer(False, "8", step=2)
    if "Correctness: Correct   (no step" in text:
        return "Step 1 ok. Step 2 wrong.\nCorrectness: Incorrect"
    if "Identify the FIRST step" in text:
        return "Error found in step 2: wrong formula"
    if "Rewrite the solution from step" in text:
        return "Step 2: right formula\nFinal Answer: 8"
    if "Verify this solution independently" in text:
        return "All good.\nVerification: Confirmed\nFinal Answer: 8"
    return "?"


@pytest.fixture(params=["litellm", "openai_compat"])
def backend(request: pytest.FixtureRequest) -> str:
    """The HTTP backend under test."""
    return str(request.param)


def via(server: FakeOpenAI, backend: str, *extra: str) -> list[str]:
    """Overrides for a single-pass run against ``server`` with the offline judge."""
    return [
        "strategy.name=single_pass",
        f"model.backend={backend}",
        "model.name=openai/fake",
        f"model.api_base={server.base_url}",
        "judge.name=offline",
        *extra,
    ]


def run(config_overrides: list[str], out: Path, *, limit: int = 4) -> Any:
    from mmrefine_agent.plugins_manager import load_plugins

    config = build_config(
        {"name": "t"},
        [f"data.limit={limit}", "run.retries=3", "run.backoff_s=0.01", *config_overrides],
    )
    return asyncio.run(arun(config, out, plugins=load_plugins()))


def test_multi_round_over_http_sends_images_and_writes_all_nodes(
    tmp_path: Path, backend: str
) -> None:
    with FakeOpenAI(refine_answer) as server:
        outcome = run(
            [
                "strategy.name=multi_round",
                "strategy.max_rounds=2",
                f"model.backend={backend}",
                "model.name=openai/fake-vlm",
                f"model.api_base={server.base_url}",
                "data.filter.modality=image",
                "judge.name=offline",
            ],
            tmp_path / "r",
            limit=3,
        )
    assert outcome.n_done == 3 and outcome.n_errors == 0
    steps = [json.loads(x) for x in (tmp_path / "r" / "steps.jsonl").read_text().splitlines()]
    assert {s["node"] for s in steps} == {"detect", "locate", "correct", "verify"}
    urls = [u for body in server.requests for u in image_parts(body)]
    assert len(urls) == len(server.requests)  # every call carries the item's image
    header, data = urls[0].split(",", 1)
    assert header == "data:image/jpeg;base64"
    with Image.open(io.BytesIO(base64.b64decode(data))) as img:
        assert img.size[0] > 0
    assert all(body["model"] == "fake-vlm" for body in server.requests)
    assert all("authorization" not in json.dumps(s).lower() for s in steps)


def test_max_image_side_downscales(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(refine_answer) as server:
        run(
            via(
                server,
                backend,
                "model.max_image_side=64",
                "data.filter.modality=image",
                "judge.name=none",
            ),
            tmp_path / "r",
            limit=1,
        )
    url = image_parts(server.requests[0])[0]
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
        assert max(img.size) <= 64


def test_transient_faults_are_retried(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(refine_answer) as server:
        server.faults = ["429", "500", "html502", "truncated"]
        outcome = run(
            via(server, backend, "run.concurrency=1"),
            tmp_path / "r",
            limit=2,
        )
    assert outcome.n_done == 2 and outcome.n_errors == 0
    assert len(server.requests) == 2 + 4
    assert outcome.usage["refine"].retries == 4


def test_persistent_failure_becomes_an_error_item_and_is_redone(
    tmp_path: Path, backend: str
) -> None:
    with FakeOpenAI(refine_answer) as server:
        server.faults = ["500"] * 8  # two items x (1 try + 3 retries)
        outcome = run(
            via(server, backend, "run.concurrency=1", "run.retries=3"),
            tmp_path / "r",
            limit=2,
        )
        assert outcome.n_done == 0 and outcome.n_errors == 2
        assert len(server.requests) == 8
        records = [
            json.loads(x) for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()
        ]
        assert [r["status"] for r in records] == ["backend_error", "backend_error"]
        assert records[0]["failure"]["kind"] == "backend_error"
        assert "failed after 4 attempt(s)" in records[0]["error"]
        again = run(
            via(server, backend, "run.concurrency=1", "run.retries=3"),
            tmp_path / "r",
            limit=2,
        )
    assert again.n_done == 2 and again.n_errors == 0
    assert again.usage["refine"].calls == 2  # the failed items were redone


@pytest.mark.parametrize("status", ["401", "404"])
def test_authentication_and_not_found_errors_are_never_retried(
    tmp_path: Path, backend: str, status: str
) -> None:
    with FakeOpenAI(refine_answer) as server:
        server.faults = [status] * 2
        outcome = run(
            via(server, backend, "run.concurrency=1", "run.retries=3", "run.preflight=false"),
            tmp_path / "r",
            limit=2,
        )
        assert len(server.requests) == 2  # one call per item: no retry
    assert outcome.n_done == 0 and outcome.n_errors == 2
    assert outcome.usage["refine"].retries == 0
    records = [json.loads(x) for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()]
    assert all(r["status"] == "backend_error" for r in records)
    names = {"401": ("HTTP 401", "AuthenticationError"), "404": ("HTTP 404", "NotFoundError")}
    errors = [r["error"] for r in records]
    assert all("attempt" not in e and any(n in e for n in names[status]) for e in errors), errors


def test_timeout_is_retried(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(refine_answer) as server:
        server.faults = ["stall"]
        outcome = run(
            via(server, backend, "model.timeout_s=1"),
            tmp_path / "r",
            limit=1,
        )
    assert outcome.n_done == 1 and outcome.usage["refine"].retries == 1


def test_empty_answer_does_not_crash(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(refine_answer) as server:
        server.faults = ["empty"]
        outcome = run(
            via(server, backend),
            tmp_path / "r",
            limit=1,
        )
    assert outcome.n_done == 1
    record = json.loads((tmp_path / "r" / "results.jsonl").read_text().splitlines()[0])
    assert record["final"]["response"] == "" and record["judgment"]["scenario"] in ("FD", "RF")


@pytest.mark.parametrize("status", ["ok"])
def test_api_key_from_env_is_sent_but_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: str, backend: str
) -> None:
    monkeypatch.setenv("MY_TEST_KEY", "sk-test-very-secret")
    with FakeOpenAI(refine_answer) as server:
        run(
            via(server, backend, "model.api_key_env=MY_TEST_KEY"),
            tmp_path / "r",
            limit=1,
        )
    assert server.headers[0].get("Authorization") == "Bearer sk-test-very-secret"
    for path in (tmp_path / "r").iterdir():
        assert "sk-test-very-secret" not in path.read_text(), path


def test_endpoints_spread_calls_over_two_servers(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(refine_answer) as one, FakeOpenAI(refine_answer) as two:
        endpoints = f"[{{api_base: {one.base_url}}}, {{api_base: {two.base_url}}}]"
        outcome = run(
            [
                "strategy.name=single_pass",
                f"model.backend={backend}",
                "model.name=openai/fake",
                f"model.endpoints={endpoints}",
                "judge.name=offline",
                "run.concurrency=4",
            ],
            tmp_path / "r",
            limit=12,
        )
    assert outcome.n_done == 12 and outcome.n_errors == 0
    assert len(one.requests) + len(two.requests) == 12
    assert len(one.requests) >= 2 and len(two.requests) >= 2  # both servers took calls


def test_max_cost_stops_new_calls_cleanly(tmp_path: Path) -> None:
    # 10 prompt + 5 completion tokens per call at $1M/M tokens = $15 per call: the budget of
    # $40 allows three calls; the rest of the items are recorded as budget errors, not lost
    with FakeOpenAI(refine_answer) as server:
        outcome = run(
            via(
                server,
                "openai_compat",
                "model.options={cost_per_million: {input: 1000000, output: 1000000}}",
                "run.max_cost_usd=40",
                "run.concurrency=1",
            ),
            tmp_path / "r",
            limit=6,
        )
    assert len(server.requests) == 3
    assert outcome.n_done == 3 and outcome.n_errors == 3
    records = [json.loads(x) for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in records).count("ok") == 3
    assert all("budget" in (r["error"] or "") for r in records if r["status"] != "ok")
    usage = json.loads((tmp_path / "r" / "usage.json").read_text())
    assert usage["refine"]["cost_usd"] == 45.0
    assert sorted(r["status"] for r in records).count("budget") == 3
