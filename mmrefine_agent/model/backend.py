"""The model-backend interface that backend plugins implement."""

from __future__ import annotations

import math
import socket
import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from mmrefine_agent.model.options import check_backend_options
from mmrefine_agent.types import ModelRequest, ModelResponse

if TYPE_CHECKING:
    from mmrefine_agent.config import ModelConfig


MAX_TOKENS = 10**9
"""More tokens than any call can use: a usage figure above it is not believed."""


def parse_retry_after(value: object) -> float | None:
    """Seconds from a Retry-After header value: a number of seconds or an HTTP date.

    None when absent, unreadable, negative or not finite (the client's own backoff applies).
    """
    if value is None:
        return None
    seconds: float | None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = _seconds_until(value)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until(value: object) -> float | None:
    """Seconds from now until an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``), if it is one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def token_count(value: object) -> int | None:
    """A token count from a reply: a whole number in 0..MAX_TOKENS; 0 when absent.

    None when the figure is not plausible (negative, fractional, NaN, text, beyond
    MAX_TOKENS): the caller counts 0 and says so in the step's notes.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_TOKENS else None


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
    """A failure worth retrying (429, 5xx, timeout, connection reset, malformed reply).

    ``retry_after``: the seconds the server asked to wait (see ``run.max_retry_after_s``).
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentModelError(Exception):
    """A failure that retrying will not fix (bad request, auth, unknown model)."""


class ReplyTooLarge(PermanentModelError):
    """The reply is larger than ``max_reply_bytes`` (a backend stops reading there)."""

    def __init__(self, limit: int, where: str = "") -> None:
        super().__init__(f"reply larger than {limit:,} bytes{f' from {where}' if where else ''}")
        self.limit = limit


class ModelBackend(ABC):
    """A way to get chat completions.

    Subclasses set ``sees_images`` (False: images are dropped and the step says so; a backend
    may also decide it per instance, e.g. a text-only model behind a server) and ``serialised``
    (True: calls to it never overlap, e.g. one in-process model).
    """

    sees_images: bool = True
    serialised: ClassVar[bool] = False
    description: ClassVar[str] = ""
    options_doc: ClassVar[dict[str, str] | None] = None
    """The ``model.options`` (or ``judge.options``) this backend reads: option name -> what it
    does (shown by ``mmrefine plugins``). Declared on a class (not inherited), an option it
    does not list is a config error naming it, with a did-you-mean; undeclared (a backend
    written before options were declared), any option is accepted."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        check_backend_options(type(self), config.options, config.backend)

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer one request. Raise TransientModelError or PermanentModelError on failure."""

    def identity(self) -> dict[str, Any]:
        """What, besides the request, determines the answer (part of the cache key)."""
        return {"backend": self.config.backend, "model": self.config.name}

    def tool_problem(self) -> str | None:
        """Why this backend cannot offer tools to its model (None: it can).

        Checked before any item when the strategy offers tools. The default says it can: a
        backend that sends ``tools`` and returns tool calls needs nothing more.
        """
        return None

    def preflight(self) -> list[str]:
        """Problems that would make every call fail (checked before any item; [] = none).

        The default checks that each ``api_base`` (or endpoint) answers a TCP connection.
        """
        bases: list[str | None] = [e.api_base for e in self.config.endpoints]
        bases = bases or [self.config.api_base]
        return [problem for base in bases if base and (problem := unreachable(base))]

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release connections or models. Called once at the end of a run."""
