"""The OpenAI-compatible route for self-served models: a real ``llama_cpp.server`` on 127.0.0.1.

The server runs the packaged SmolLM2-135M; the run goes through the litellm backend's
``api_base``, exactly as it would against vLLM, Ollama or SGLang.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import mmrefine

pytest.importorskip("llama_cpp", reason="the 'local' extra is not installed")
pytest.importorskip("uvicorn", reason="llama-cpp-python[server] is not installed")
pytest.importorskip("sse_starlette", reason="llama-cpp-python[server] is not installed")
pytestmark = pytest.mark.local_model


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` with the small model; yield its /v1 base URL."""
    from mmrefine_agent.plugins.llamacpp_backend import packaged_model_path

    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(packaged_model_path()),
                "--model_alias", "smollm2",
                "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", "4096", "--seed", "0", "--verbose", "False",
            ],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_few_items_through_a_local_llama_cpp_server(llama_server: str, tmp_path: Path) -> None:
    out = tmp_path / "served"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    result = mmrefine(
        "run", "configs/quickstart.yaml", "--out", str(out), "--limit", "4",
        "--set", "model.backend=litellm",
        "--set", "model.name=openai/smollm2",
        "--set", f"model.api_base={llama_server}",
        "--set", "model.options={text_only: true}",
        "--set", "model.params.max_tokens=48",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(results) == 4, results
    assert all(r["status"] == "ok" for r in results), [r.get("error") for r in results]
    steps = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]
    detects = [s for s in steps if s["node"] == "detect"]
    assert len(detects) == 4
    assert all(s["raw_answer"] and s["tokens"]["output"] > 0 for s in detects)
    # a text-only server model: the image items say the image was not seen
    not_seen = [s for s in detects if any("image not seen" in n for n in s["notes"])]
    assert len(not_seen) == 2
    scores = json.loads((out / "scores.json").read_text())
    assert scores["not_seen_images"] == 2
    assert "RefScore" in result.stdout
