"""A tool loop against a loopback OpenAI-compatible server, through ``litellm`` (with
``api_base``) and the direct ``openai_compat`` backend, run with ``mmrefine run``."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, official_answer
from helpers import mmrefine

STRATEGY = Path(__file__).resolve().parent / "tool_loop_strategy.py"
CALLS = [
    {"id": "call_calc", "name": "calculator", "arguments": {"expression": "(2x + 3 = 11)"}},
    {"id": "call_zoom", "name": "zoom", "arguments": {"box": [0.25, 0.25, 0.75, 0.75]}},
]


def tool_answer(body: dict[str, Any]) -> str | dict[str, Any]:
    """First ask: two tool calls; once their results are in: an official-format answer."""
    if not any(m["role"] == "tool" for m in body["messages"]):
        return {"content": None, "tool_calls": CALLS}
    return official_answer(False, "8", step=2)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.parametrize("backend", ["litellm", "openai_compat"])
def test_tool_calls_travel_over_http_with_their_ids_and_the_zoom_image(
    tmp_path: Path, backend: str
) -> None:
    out = tmp_path / "run"
    with FakeOpenAI(tool_answer) as server:
        done = mmrefine(
            "run", "configs/paper_single_pass.yaml", "--plugin", str(STRATEGY),
            "--limit", "1", "--out", str(out), "--quiet",
            "--set", "strategy.name=tool_loop", "--set", "strategy.tools=[calculator,zoom]",
            "--set", "data.filter.modality=image", "--set", f"model.backend={backend}",
            "--set", "model.name=openai/fake-vlm", "--set", f"model.api_base={server.base_url}",
            "--set", "judge.name=offline", "--set", "run.cache=false",
        )  # fmt: skip
        bodies = list(server.requests)
    assert done.returncode == 0, done.stderr
    first, second = bodies
    # the tools offered, as langchain-core's converter made them
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator", "zoom"]
    assert first["tools"][1]["function"]["parameters"]["properties"]["box"]["maxItems"] == 4
    # the next request: the reply's calls, the results by call id, then the zoom image
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "user"]
    asked = second["messages"][1]
    assert [c["id"] for c in asked["tool_calls"]] == ["call_calc", "call_zoom"]
    assert json.loads(asked["tool_calls"][1]["function"]["arguments"]) == CALLS[1]["arguments"]
    calc, zoom = second["messages"][2:4]
    assert (calc["tool_call_id"], calc["content"]) == ("call_calc", "x = 4")
    assert zoom["tool_call_id"] == "call_zoom" and zoom["content"].startswith("zoomed into")
    image_parts = [p for p in second["messages"][4]["content"] if p["type"] == "image_url"]
    (part,) = image_parts
    sent = base64.b64decode(part["image_url"]["url"].split(";base64,", 1)[1])
    # ... and the same bytes are in the run directory, referenced from the step
    (detect,) = [s for s in lines(out / "steps.jsonl") if s["node"] == "detect"]
    run = next(r for r in detect["tool_runs"] if r["call_id"] == "call_zoom")
    assert run["image"]["sha256"] == hashlib.sha256(sent).hexdigest()
    assert (out / run["image_file"]).read_bytes() == sent
    assert list((out / "images").iterdir()) == [out / run["image_file"]]
    assert detect["calls"][0]["params"]["tools"] == ["calculator", "zoom"]
    assert [c["id"] for c in detect["calls"][0]["tool_calls"]] == ["call_calc", "call_zoom"]
    assert detect["calls"][1]["answer"].startswith("Review and Correction")
    (result,) = lines(out / "results.jsonl")
    assert result["status"] == "ok" and result["rounds"][0]["verdict"] == "incorrect"
