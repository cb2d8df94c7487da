"""The model-backend interface that backend plugins implement."""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from mmrefine_agent.types import ModelRequest, ModelResponse

if TYPE_CHECKING:
    from mmrefine_agent.config import ModelConfig


def parse_retry_after(value: object) -> float | None:
    """Seconds from a Retry-After header value (None when absent or not a number)."""
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def unreachable(api_base: str, timeout_s: float = 3.0) -> str | None:
    """Why ``api_base`` cannot be reached (None: a TCP connection opened)."""
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"api_base {api_base!r} is not an http(s) URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"cannot reach {parts.scheme}://{parts.hostname}:{port} ({exc.strerror or exc})"


class TransientModelError(Exception):
    """A failure worth retrying (429, 5xx, timeout, connection reset, malformed reply)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentModelError(Exception):
    """A failure that retrying will not fix (bad request, auth, unknown model)."""


class ModelBackend(ABC):
    """A way to get chat completions.

    Subclasses set ``sees_images`` (False: images are dropped and the step says so; a backend
    may also decide it per instance, e.g. a text-only model behind a server) and ``serialised``
    (True: calls to it never overlap, e.g. one in-process model).
    """

    sees_images: bool = True
    serialised: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer one request. Raise TransientModelError or PermanentModelError on failure."""

    def identity(self) -> dict[str, Any]:
        """What, besides the request, determines the answer (part of the cache key)."""
        return {"backend": self.config.backend, "model": self.config.name}

    def preflight(self) -> list[str]:
        """Problems that would make every call fail (checked before any item; [] = none).

        The default checks that each ``api_base`` (or endpoint) answers a TCP connection.
        """
        bases: list[str | None] = [e.api_base for e in self.config.endpoints]
        bases = bases or [self.config.api_base]
        return [problem for base in bases if base and (problem := unreachable(base))]

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release connections or models. Called once at the end of a run."""
