"""``scripted``: deterministic answers from a file, an inline mapping or a callable.

The backend the tests drive, and a way to replay answers. Lookup order for a call tagged
(item, node, round): ``items[item][node]``, then ``nodes[node]``, then ``default``. A value
may be a string or a list indexed by round (the last entry repeats). ``{key}``, ``{node}``
and ``{round}`` in an answer are replaced. Options (``model.options``):

    script: path to a YAML/JSON file with ``default``, ``nodes`` and ``items``
    answers: the same mapping inline
    callable: "module:function" taking a ModelRequest and returning a string, a reply
        mapping (below) or a ModelResponse
    latency_s: seconds to sleep per call (to exercise concurrency)

A reply may call tools: a mapping ``{text: ..., tool_calls: [{name, arguments, id}]}``
(``arguments`` a mapping or JSON text; ``id`` defaults to ``call_<turn>_<n>``). A tool loop
asks the same node several times in one round; ``{turns: [reply, reply, ...]}`` answers by
turn, the number of assistant messages with tool calls already in the request (the last
entry repeats), so a scripted loop is deterministic and needs no state::

    nodes:
      detect:
        turns:
          - tool_calls: [{name: calculator, arguments: {expression: "2+3"}}]
          - "Correctness: Correct ... Final Answer: 5"
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
    ToolCall,
    hookimpl,
)

AnswerFn = Callable[[ModelRequest], "str | dict[str, Any] | ModelResponse"]


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


def _pick(value: Any, round_number: int) -> Any:
    if isinstance(value, list):
        if not value:
            return None
        return value[min(max(round_number, 1), len(value)) - 1]
    return value


def tool_turn(request: ModelRequest) -> int:
    """How many tool-calling turns the conversation already holds (0 for a first ask)."""
    return sum(1 for m in request.messages if m.role == "assistant" and m.tool_calls)


def scripted_reply(value: Any, turn: int) -> tuple[str, list[ToolCall]]:
    """The text and tool calls of one scripted value (a string, a reply or ``turns``)."""
    if isinstance(value, dict) and "turns" in value:
        turns = value["turns"]
        if not isinstance(turns, list) or not turns:
            raise ConfigError("scripted answers: 'turns' must be a non-empty list")
        value = turns[min(turn, len(turns) - 1)]
    if not isinstance(value, dict):
        return str(value), []
    calls = []
    for index, entry in enumerate(value.get("tool_calls") or ()):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ConfigError(f"scripted answers: a tool call needs a name, not {entry!r}")
        call_id = str(entry.get("id") or f"call_{turn}_{index}")
        calls.append(ToolCall.parse(call_id, str(entry["name"]), entry.get("arguments") or {}))
    return str(value.get("text") or ""), calls


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
        """The scripted answer's text for one request."""
        return self.reply(request)[0]

    def reply(self, request: ModelRequest) -> tuple[str, list[ToolCall]]:
        """The scripted answer for one request: its text and any tool calls."""
        tags = request.tags
        if self.answer_fn is not None:
            given = self.answer_fn(request)
            if isinstance(given, ModelResponse):
                return given.text, list(given.tool_calls)
            return scripted_reply(given, tool_turn(request))
        items = self.script.get("items") or {}
        nodes = self.script.get("nodes") or {}
        value = _pick((items.get(tags.item_key) or {}).get(tags.node), tags.round)
        if value is None:
            value = _pick(nodes.get(tags.node), tags.round)
        if value is None:
            value = _pick(self.script.get("default"), tags.round)
        if value is None:
            raise PermanentModelError(
                f"scripted backend has no answer for item {tags.item_key}, node {tags.node}"
            )
        text, calls = scripted_reply(value, tool_turn(request))
        text = (
            text.replace("{key}", tags.item_key)
            .replace("{node}", tags.node)
            .replace("{round}", str(tags.round))
        )
        return text, calls

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Record the request and return its scripted answer."""
        self.history.append(request)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        text, calls = self.reply(request)
        prompt_words = sum(len(m.text.split()) for m in request.messages)
        return ModelResponse(
            text=text,
            model=self.config.name,
            input_tokens=prompt_words,
            output_tokens=len(text.split()),
            finish_reason="tool_calls" if calls else "stop",
            tool_calls=calls,
        )


@hookimpl
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Register ``scripted``."""
    register("scripted", ScriptedBackend)
