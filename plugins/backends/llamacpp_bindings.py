"""The two llama.cpp bindings the ``llamacpp`` backend drives: ``xllamacpp`` and ``llama_cpp``.

``xllamacpp`` (PyPI ships prebuilt CPU wheels: nothing to compile) runs llama.cpp's own server
code in process; ``llama_cpp`` is llama-cpp-python (built from source by pip). Both answer a
chat request with an OpenAI-shaped dict and count tokens the same way (the model's tokenizer,
no special tokens added), so the backend above them behaves the same with either.
``choose("auto")`` takes xllamacpp when it is installed, else llama-cpp-python.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from mmrefine_agent import PermanentModelError

BINDINGS = ("xllamacpp", "llama_cpp")
DISTRIBUTIONS = {"xllamacpp": "xllamacpp", "llama_cpp": "llama-cpp-python"}
INSTALL = {
    "xllamacpp": "pip install 'mmrefine-agent[local]'",
    "llama_cpp": "pip install 'mmrefine-agent[llama-cpp-python]'",
}


@dataclass(frozen=True)
class LoadSpec:
    """What a loaded model depends on (one loaded model per distinct spec and process)."""

    binding: str
    path: Path
    n_ctx: int
    n_threads: int | None
    seed: int
    chat_format: str | None = None
    jinja: bool = False
    """Render prompts with the model's own Jinja template (what tools need, xllamacpp)."""


class Binding(Protocol):
    """A loaded model behind one of the bindings."""

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` (no BOS, special tokens not parsed)."""
        ...

    def chat(self, messages: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
        """One chat completion as an OpenAI-shaped dict; PermanentModelError on refusal."""
        ...


def installed(binding: str) -> bool:
    """Whether the binding's module can be imported (without importing it)."""
    return importlib.util.find_spec(binding) is not None


def version(binding: str) -> str | None:
    """The installed distribution version of a binding (None when it is not installed)."""
    try:
        return metadata.version(DISTRIBUTIONS[binding])
    except metadata.PackageNotFoundError:
        return None


def choose(requested: str) -> str:
    """The binding to use for ``model.options.binding`` (auto, xllamacpp or llama_cpp)."""
    if requested == "auto":
        for binding in BINDINGS:
            if installed(binding):
                return binding
        raise PermanentModelError(
            "no llama.cpp binding is installed (xllamacpp or llama-cpp-python): "
            + INSTALL["xllamacpp"]
        )
    if requested not in BINDINGS:
        raise PermanentModelError(
            f"model.options.binding: '{requested}' is not one of auto, {', '.join(BINDINGS)}"
        )
    if not installed(requested):
        raise PermanentModelError(
            f"model.options.binding is {requested} but {DISTRIBUTIONS[requested]} is not "
            f"installed: {INSTALL[requested]}"
        )
    return requested


class XLlamaCpp:
    """llama.cpp's server code in process (xllamacpp), one slot, logging off."""

    def __init__(self, spec: LoadSpec) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(spec.path)
        params.n_ctx = spec.n_ctx
        params.n_parallel = 1
        params.warmup = False
        params.verbosity = -1
        params.sampling.seed = spec.seed
        if spec.n_threads:
            params.cpuparams.n_threads = spec.n_threads
            params.cpuparams_batch.n_threads = spec.n_threads
        if spec.chat_format:
            params.chat_template = spec.chat_format
        if spec.jinja:
            params.use_jinja = True
        try:
            self.server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain RuntimeErrors on a bad file
            raise PermanentModelError(f"xllamacpp could not load {spec.path.name}: {exc}") from exc
        # the in-process server also listens on 127.0.0.1 (an OS-chosen port): its /tokenize
        self._tokenize_url = f"{self.server.listening_address}/tokenize"

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` through the server's /tokenize (loopback)."""
        body = json.dumps({"content": text, "add_special": False}).encode("utf-8")
        request = urllib.request.Request(
            self._tokenize_url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            return len(json.loads(reply.read())["tokens"])

    def chat(self, messages: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
        """One chat completion (the request dict is the OpenAI one)."""
        try:
            out: Any = self.server.handle_chat_completions({"messages": messages, **options})
        except ValueError as exc:
            raise PermanentModelError(f"llama.cpp: {exc}") from exc
        if not isinstance(out, dict) or "error" in out or not out.get("choices"):
            error = out.get("error") if isinstance(out, dict) else out
            message = error.get("message") if isinstance(error, dict) else error
            raise PermanentModelError(f"llama.cpp: {message}")
        return out


class LlamaCppPython:
    """llama-cpp-python's ``Llama``; calls to one model never overlap."""

    def __init__(self, spec: LoadSpec) -> None:
        import llama_cpp

        kwargs: dict[str, Any] = {
            "model_path": str(spec.path),
            "n_ctx": spec.n_ctx,
            "seed": spec.seed,
            "verbose": False,
        }
        if spec.n_threads:
            kwargs["n_threads"] = spec.n_threads
            kwargs["n_threads_batch"] = spec.n_threads
        if spec.chat_format:
            kwargs["chat_format"] = spec.chat_format
        try:
            self.llama: Any = llama_cpp.Llama(**kwargs)
        except ValueError as exc:
            message = f"llama-cpp-python could not load {spec.path.name}: {exc}"
            raise PermanentModelError(message) from exc
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` through the model's tokenizer."""
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False))

    def chat(self, messages: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
        """One chat completion."""
        with self._lock:
            try:
                out: dict[str, Any] = self.llama.create_chat_completion(
                    messages=messages, **options
                )
            except ValueError as exc:
                raise PermanentModelError(f"llama.cpp: {exc}") from exc
        return out


_loaded: dict[LoadSpec, Binding] = {}
_loaded_lock = threading.Lock()


def load(spec: LoadSpec) -> Binding:
    """The model of ``spec``, loaded once per process."""
    with _loaded_lock:
        if spec not in _loaded:
            kind = XLlamaCpp if spec.binding == "xllamacpp" else LlamaCppPython
            _loaded[spec] = kind(spec)
        return _loaded[spec]
