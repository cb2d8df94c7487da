"""``openai_compat``: a direct HTTP client for OpenAI-compatible servers (no litellm).

For self-served models (llama.cpp server, vLLM, Ollama, SGLang) and OpenAI-compatible APIs,
where litellm's provider layer adds only per-call CPU (several ms of it per call on this
machine, which makes a 3,000-call run CPU-bound). It posts ``/chat/completions`` with one
pooled aiohttp session and maps failures the same way as the litellm backend: 408/409/429/5xx,
timeouts, connection errors and malformed JSON are transient (Retry-After honoured); other 4xx
are permanent. ``model.name`` is sent as is (an ``openai/`` prefix is dropped), to
``model.api_base`` or spread round-robin over ``model.endpoints`` (by weight). A key, if the
server wants one, comes from the env var named by ``model.api_key_env``; it is sent as a
header and never written anywhere. Options: ``text_only`` (images not sent, counted as not
seen), ``cost_per_million: {input: USD, output: USD}`` (to count cost and honour
``run.max_cost_usd``). A reply is read up to ``model.max_reply_bytes`` and no further: a
longer one fails the call (the connection is closed, nothing more is read). Tools offered
(``tools``/``tool_choice`` in the call parameters) are sent as is; the reply's tool calls
come back on the response.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any, ClassVar

from mmrefine_agent import (
    ContentBuilder,
    ModelBackend,
    ModelConfig,
    ModelRequest,
    ModelResponse,
    PermanentModelError,
    RegisterBackend,
    ReplyTooLarge,
    ToolCall,
    TransientModelError,
    hookimpl,
    parse_retry_after,
    token_count,
)

TRANSIENT_STATUS = {408, 409, 425, 429}
ERROR_BODY_BYTES = 64 * 1024
"""How much of an error reply is read (its first 300 bytes are quoted in the message)."""


def message_text(content: object) -> str:
    """A reply's text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    raise TypeError(f"message content is a {type(content).__name__}")


async def read_body(reply: Any, limit: int) -> bytes | None:
    """The reply's body, read chunk by chunk; None as soon as it exceeds ``limit`` bytes."""
    length = reply.content_length
    if length is not None and length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in reply.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class OpenAICompatBackend(ModelBackend):
    """Chat completions over plain HTTP to one or several OpenAI-compatible servers."""

    description: ClassVar[str] = "direct HTTP to OpenAI-compatible servers (lowest overhead)"
    options_doc: ClassVar[dict[str, str] | None] = {
        "text_only": "true: images are not sent (a text-only model); counted as not seen",
        "cost_per_million": "{input: USD, output: USD} per million tokens, to count cost",
    }

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        targets: list[tuple[str, str]] = []
        for endpoint in config.endpoints:
            name = endpoint.name or config.name
            targets += [(endpoint.api_base, name)] * max(1, endpoint.weight)
        if not targets:
            if not config.api_base:
                raise PermanentModelError(
                    "backend 'openai_compat' needs model.api_base (or model.endpoints)"
                )
            targets = [(config.api_base, config.name)]
        self.targets = [
            (base.rstrip("/") + "/chat/completions", name.removeprefix("openai/"))
            for base, name in targets
        ]
        self._next = itertools.cycle(range(len(self.targets)))
        self._contents = ContentBuilder(config.max_image_side)
        self.sees_images = not bool(config.options.get("text_only", False))
        prices = config.options.get("cost_per_million") or {}
        self.price_in = float(prices.get("input", 0.0)) / 1e6
        self.price_out = float(prices.get("output", 0.0)) / 1e6
        self._session: Any = None

    def preflight(self) -> list[str]:
        """Every server answers, and the key variable (if one is named) is set."""
        problems = super().preflight()
        if self.config.api_key_env and not os.environ.get(self.config.api_key_env):
            problems.append(f"model.api_key_env names {self.config.api_key_env}, which is not set")
        return problems

    def identity(self) -> dict[str, Any]:
        """Backend, model and the server(s) determine the answer."""
        return {**super().identity(), "targets": sorted({url for url, _ in self.targets})}

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key_env and os.environ.get(self.config.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.config.api_key_env]}"
        return headers

    def _get_session(self) -> Any:
        if self._session is None or self._session.closed:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                headers=self._headers(),
                json_serialize=json.dumps,
            )
        return self._session

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """POST one chat completion; failures are mapped to transient/permanent errors."""
        import aiohttp

        url, model = self.targets[next(self._next)]
        body = {
            "model": model,
            "messages": self._contents.messages(request.messages),
            **request.params,
        }
        started = time.perf_counter()
        try:
            async with self._get_session().post(
                url, json=body, timeout=aiohttp.ClientTimeout(total=self.config.timeout_s)
            ) as reply:
                status, headers = reply.status, reply.headers
                limit = ERROR_BODY_BYTES if status >= 400 else self.config.max_reply_bytes
                raw = await read_body(reply, limit)
                if raw is None:
                    reply.close()  # stop here: the rest is never read
                    if status < 400:
                        raise ReplyTooLarge(limit, url)
                    raw = b"(a reply too large to quote)"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientModelError(f"{type(exc).__name__}: {exc or 'timed out'}") from exc
        latency = time.perf_counter() - started
        if status >= 400:
            detail = raw[:300].decode("utf-8", "replace")
            message = f"HTTP {status} from {url}: {detail}"
            if status in TRANSIENT_STATUS or status >= 500:
                raise TransientModelError(
                    message, retry_after=parse_retry_after(headers.get("retry-after"))
                )
            raise PermanentModelError(message)
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            message = choice["message"]
            text = message_text(message.get("content"))
            raw_calls = message.get("tool_calls") or ()
            calls = [ToolCall.from_openai(c, i) for i, c in enumerate(raw_calls)]
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TransientModelError(f"malformed reply from {url}: {exc}") from exc
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        notes = [] if text or calls else ["empty answer"]
        tokens_in = token_count(usage.get("prompt_tokens"))
        tokens_out = token_count(usage.get("completion_tokens"))
        if tokens_in is None or tokens_out is None:
            shown = {k: str(usage.get(k))[:24] for k in ("prompt_tokens", "completion_tokens")}
            notes.append(f"usage figures not believable, counted as 0: {shown}")
        tokens_in, tokens_out = tokens_in or 0, tokens_out or 0
        return ModelResponse(
            text=text,
            model=str(data.get("model") or model),
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=tokens_in * self.price_in + tokens_out * self.price_out,
            latency_s=latency,
            finish_reason=choice.get("finish_reason"),
            notes=notes,
            tool_calls=calls,
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


@hookimpl
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Register ``openai_compat``."""
    register("openai_compat", OpenAICompatBackend)
