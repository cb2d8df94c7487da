"""``scripted``: deterministic answers from a file, an inline mapping or a callable.

The backend the tests drive, and a way to replay answers. Lookup order for a call tagged
(item, node, round): ``items[item][node]``, then ``nodes[node]``, then ``default``. A value
may be a string or a list indexed by round (the last entry repeats). ``{key}``, ``{node}``
and ``{round}`` in an answer are replaced. Options (``model.options``):

    script: path to a YAML/JSON file with ``default``, ``nodes`` and ``items``
    answers: the same mapping inline
    callable: "module:function" taking a ModelRequest and returning a string
    latency_s: seconds to sleep per call (to exercise concurrency)
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import yaml

from mmrefine_agent import (
    ConfigError,
    ModelBackend,
    ModelConfig,
    ModelRequest,
    ModelResponse,
    PermanentModelError,
    RegisterBackend,
    hookimpl,
)

AnswerFn = Callable[[ModelRequest], str]


def load_script(path: Path) -> dict[str, Any]:
    """Read a scripted-answers file (YAML or JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read scripted answers: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: scripted answers must be a mapping")
    return data


def _pick(value: Any, round_number: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        if not value:
            return None
        return str(value[min(max(round_number, 1), len(value)) - 1])
    return str(value)


class ScriptedBackend(ModelBackend):
    """Answers from a script; keeps every request in ``history``."""

    description: ClassVar[str] = "deterministic answers from a file or callable (tests, replays)"
    options_doc: ClassVar[dict[str, str] | None] = {
        "script": "a YAML/JSON file with default, nodes and items",
        "answers": "the same mapping inline",
        "callable": "'module:function' taking a ModelRequest and returning the answer",
        "latency_s": "seconds to sleep per call",
    }

    def __init__(self, config: ModelConfig, answer_fn: AnswerFn | None = None) -> None:
        super().__init__(config)
        options = config.options
        self.history: list[ModelRequest] = []
        self.latency_s = float(options.get("latency_s", 0.0))
        self.answer_fn = answer_fn
        if answer_fn is None and options.get("callable"):
            module_name, _, attr = str(options["callable"]).partition(":")
            try:
                self.answer_fn = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(
                    f"model.options.callable: cannot load {options['callable']}: {exc}"
                ) from exc
        script: dict[str, Any] = {}
        if options.get("script"):
            script = load_script(Path(str(options["script"])))
        if isinstance(options.get("answers"), dict):
            script = {**script, **options["answers"]}
        self.script = script

    def identity(self) -> dict[str, Any]:
        """Scripts differ per run, so the script content is part of the identity."""
        return {
            **super().identity(),
            "script": json.dumps(self.script, sort_keys=True, default=str),
            "callable": str(self.config.options.get("callable")),
        }

    def answer(self, request: ModelRequest) -> str:
        """The scripted answer for one request."""
        if self.answer_fn is not None:
            return self.answer_fn(request)
        tags = request.tags
        items = self.script.get("items") or {}
        nodes = self.script.get("nodes") or {}
        text = _pick((items.get(tags.item_key) or {}).get(tags.node), tags.round)
        if text is None:
            text = _pick(nodes.get(tags.node), tags.round)
        if text is None:
            text = _pick(self.script.get("default"), tags.round)
        if text is None:
            raise PermanentModelError(
                f"scripted backend has no answer for item {tags.item_key}, node {tags.node}"
            )
        return (
            text.replace("{key}", tags.item_key)
            .replace("{node}", tags.node)
            .replace("{round}", str(tags.round))
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Record the request and return its scripted answer."""
        self.history.append(request)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        text = self.answer(request)
        prompt_words = sum(len(m.text.split()) for m in request.messages)
        return ModelResponse(
            text=text,
            model=self.config.name,
            input_tokens=prompt_words,
            output_tokens=len(text.split()),
            finish_reason="stop",
        )


@hookimpl
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Register ``scripted``."""
    register("scripted", ScriptedBackend)
