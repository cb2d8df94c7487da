"""``litellm``: any provider litellm knows, and any OpenAI-compatible server via ``api_base``.

litellm is imported on first use only (it takes seconds). Images go as base64 data URLs in
the message content, optionally downscaled to ``model.max_image_side``. Retries are the
framework's (litellm's and the OpenAI SDK's own retries are turned off), so Retry-After is
honoured in one place. With ``model.endpoints``, calls are spread over several servers by
litellm's Router. ``model.options.text_only: true`` marks a model that cannot see images (a
local server with a text-only model): images are dropped and image items are counted as such.
Tools offered (``tools``/``tool_choice`` in the call parameters) go to litellm as is; the
reply's tool calls come back on the response, and tool results go back as ``tool`` messages.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any, ClassVar

from mmrefine_agent import (
    ContentBuilder,
    ModelBackend,
    ModelConfig,
    ModelRequest,
    ModelResponse,
    PermanentModelError,
    RegisterBackend,
    ToolCall,
    TransientModelError,
    hookimpl,
    parse_retry_after,
    token_count,
)

_litellm: Any = None
READONLY_TYPEDDICT_WARNING = r".* on TypedDict class .* using the `ReadOnly` qualifier"
SERIALIZER_WARNING = r"Pydantic serializer warnings"
"""pydantic on litellm's logging of a reply whose usage it could not read (NaN tokens)."""


def import_litellm() -> Any:
    """Import litellm once, offline-safe (local model cost map, no telemetry)."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_TELEMETRY", "False")
        # litellm's router builds pydantic schemas of ReadOnly TypedDicts on its failure path;
        # pydantic warns about each one, which would reach the user's terminal mid-run
        warnings.filterwarnings("ignore", message=READONLY_TYPEDDICT_WARNING, category=UserWarning)
        warnings.filterwarnings("ignore", message=SERIALIZER_WARNING, category=UserWarning)
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True
        _litellm = litellm
    return _litellm


PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "cohere": "COHERE_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
}
SELF_SERVED = {"ollama", "ollama_chat", "hosted_vllm", "vllm", "lm_studio", "llamafile"}
_catalog: dict[str, dict[str, Any]] | None = None


def model_catalog() -> dict[str, dict[str, Any]]:
    """Litellm's model list (its bundled JSON file), read without importing litellm."""
    global _catalog
    if _catalog is None:
        import importlib.util
        import json
        from pathlib import Path

        spec = importlib.util.find_spec("litellm")
        path = Path(spec.origin or "").parent if spec else Path()
        source = path / "model_prices_and_context_window_backup.json"
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        _catalog = {k: v for k, v in data.items() if isinstance(v, dict)}
    return _catalog


# Failures litellm reports under a retryable class (the OpenAI client raises "Missing
# credentials" before any request, and litellm maps it to InternalServerError): retrying
# cannot fix them.
PERMANENT_MESSAGES = ("missing credentials", "api_key client option must be set")


def is_permanent(exc: BaseException) -> bool:
    """Whether an exception litellm did not classify is a missing-credentials failure."""
    text = str(exc).lower()
    return any(message in text for message in PERMANENT_MESSAGES)


UNREADABLE_USAGE = (
    "the reply's usage figures are not finite numbers (NaN or Infinity, which JSON does not "
    "allow) and litellm refuses such a reply; the openai_compat backend counts them as 0"
)


def describe(exc: BaseException) -> str:
    """An exception as one line: litellm puts whole tracebacks into some messages."""
    text = f"{type(exc).__name__}: {exc}"
    cut = text.find("Traceback (most recent call last)")
    if cut > 0:
        text = text[:cut].rstrip() + " (litellm's traceback left out)"
    return " ".join(text.split())


def _unreadable_usage(exc: BaseException) -> bool:
    text = str(exc)
    return "Invalid response object" in text and "for Usage" in text


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "headers", None) or {}
    return parse_retry_after(headers.get("retry-after") if hasattr(headers, "get") else None)


class LitellmBackend(ModelBackend):
    """Chat completions through litellm (one server, or several through its Router)."""

    description: ClassVar[str] = "any litellm provider or OpenAI-compatible server (api_base)"
    options_doc: ClassVar[dict[str, str] | None] = {
        "text_only": "true: images are not sent (a text-only model); counted as not seen",
    }

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self._contents = ContentBuilder(config.max_image_side)
        self._router: Any = None
        # A text-only model behind a server (e.g. a small GGUF in llama.cpp server, a text
        # model in Ollama/vLLM): images are not sent, and the steps and reports say so.
        self.sees_images = not bool(config.options.get("text_only", False))

    def identity(self) -> dict[str, Any]:
        """Backend, model and endpoint(s) determine the answer."""
        endpoints = [e.api_base for e in self.config.endpoints]
        return {**super().identity(), "api_base": self.config.api_base, "endpoints": endpoints}

    def preflight(self) -> list[str]:
        """A provider litellm can route to, its key variable set, a known model, a server.

        Read from litellm's own model list file, without importing litellm (seconds).
        """
        problems = super().preflight()
        if problems or self.config.endpoints:
            return problems
        catalog = model_catalog()
        name = self.config.name
        provider, _, model = name.partition("/") if "/" in name else ("", "", name)
        providers = {str(v.get("litellm_provider")) for v in catalog.values()} | SELF_SERVED
        if not provider:
            provider = str((catalog.get(name) or {}).get("litellm_provider") or "")
        if not provider or provider not in providers:
            return [
                f"model name {name!r} names no provider litellm knows; write it as "
                "'provider/model', e.g. 'openai/gpt-4o' (an OpenAI-compatible server: "
                "'openai/<served name>' with model.api_base)"
            ]
        if self.config.api_base or provider in SELF_SERVED:
            return []  # a server of your own: any model name, its own keys
        variable = self.config.api_key_env or PROVIDER_KEYS.get(provider)
        if variable and not os.environ.get(variable):
            return [f"{variable} is not set (provider '{provider}')"]
        known = {
            key.split("/", 1)[-1]
            for key, info in catalog.items()
            if info.get("litellm_provider") == provider
        }
        if known and model not in known:
            import difflib

            guess = difflib.get_close_matches(model, sorted(known), n=1)
            hint = f" (did you mean '{provider}/{guess[0]}'?)" if guess else ""
            return [f"unknown model '{model}' for provider '{provider}'{hint}"]
        return []

    def _api_key(self) -> str | None:
        if self.config.api_key_env:
            return os.environ.get(self.config.api_key_env)
        self_served = bool(self.config.api_base or self.config.endpoints)
        if self_served and self.config.name.startswith("openai/"):
            # local OpenAI-compatible servers need a placeholder key
            return None if os.environ.get("OPENAI_API_KEY") else "no-key"
        return None

    def _get_router(self, litellm: Any) -> Any:
        if self._router is None:
            key = self._api_key()
            model_list = []
            for endpoint in self.config.endpoints:
                params: dict[str, Any] = {
                    "model": endpoint.name or self.config.name,
                    "api_base": endpoint.api_base,
                    "weight": endpoint.weight,
                }
                if key:
                    params["api_key"] = key
                model_list.append({"model_name": "mmrefine-target", "litellm_params": params})
            # our client retries (with backoff and Retry-After); the Router only spreads calls
            self._router = litellm.Router(
                model_list=model_list,
                num_retries=0,
                routing_strategy="simple-shuffle",
                disable_cooldowns=True,
            )
        return self._router

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """One chat completion; litellm exceptions are mapped to transient/permanent."""
        litellm = import_litellm()
        messages = self._contents.messages(request.messages)
        kwargs: dict[str, Any] = {
            **request.params,
            "timeout": self.config.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        started = time.perf_counter()
        try:
            if self.config.endpoints:
                response = await self._get_router(litellm).acompletion(
                    model="mmrefine-target", messages=messages, **kwargs
                )
            else:
                key = self._api_key()
                if key:
                    kwargs["api_key"] = key
                if self.config.api_base:
                    kwargs["api_base"] = self.config.api_base
                response = await litellm.acompletion(
                    model=self.config.name, messages=messages, **kwargs
                )
        except (
            litellm.BadRequestError,
            litellm.AuthenticationError,
            litellm.NotFoundError,
            litellm.PermissionDeniedError,
        ) as exc:
            if isinstance(exc, litellm.ContextWindowExceededError | litellm.BadRequestError) and (
                "json" in str(exc).lower() and "decode" in str(exc).lower()
            ):
                raise TransientModelError(f"malformed reply: {describe(exc)}") from exc
            raise PermanentModelError(describe(exc)) from exc
        except Exception as exc:  # rate limits, 5xx, timeouts, connection and decoding errors
            if _unreadable_usage(exc):
                raise PermanentModelError(UNREADABLE_USAGE) from exc
            if is_permanent(exc):
                raise PermanentModelError(describe(exc)) from exc
            raise TransientModelError(describe(exc), retry_after=_retry_after(exc)) from exc
        latency = time.perf_counter() - started
        try:
            choice = response.choices[0]
            text = choice.message.content or ""
            finish = getattr(choice, "finish_reason", None)
            raw_calls = getattr(choice.message, "tool_calls", None) or ()
            calls = [ToolCall.from_openai(c, i) for i, c in enumerate(raw_calls)]
        except (AttributeError, IndexError, TypeError) as exc:
            raise TransientModelError(f"reply without choices: {exc}") from exc
        usage = getattr(response, "usage", None)
        cost = 0.0
        hidden = getattr(response, "_hidden_params", None) or {}
        if isinstance(hidden.get("response_cost"), int | float):
            cost = hidden["response_cost"]  # the client counts an unbelievable cost as 0
        notes = [] if text or calls else ["empty answer"]
        tokens_in = token_count(getattr(usage, "prompt_tokens", None))
        tokens_out = token_count(getattr(usage, "completion_tokens", None))
        if tokens_in is None or tokens_out is None:
            notes.append("usage figures not believable, counted as 0")
        return ModelResponse(
            text=text,
            model=str(getattr(response, "model", None) or self.config.name),
            input_tokens=tokens_in or 0,
            output_tokens=tokens_out or 0,
            cost_usd=cost,
            latency_s=latency,
            finish_reason=finish,
            notes=notes,
            tool_calls=calls,
        )


@hookimpl
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Register ``litellm``."""
    register("litellm", LitellmBackend)
