"""The model client as a node or a judge sees it: one typed method, ``call``.

The graph and the judges depend on this protocol, not on the engine: the engine's
``ModelClient`` (cache, concurrency limit, retries, budget) satisfies it structurally, and a
test may hand in any object with the same method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mmrefine_agent.records.trace import CallRecord
    from mmrefine_agent.types import CallTags, ChatMessage, ModelResponse


class ModelCaller(Protocol):
    """Anything that makes one model call and returns the answer with its trace record."""

    async def call(
        self,
        messages: tuple[ChatMessage, ...],
        tags: CallTags,
        params: dict[str, Any] | None = None,
        *,
        cache_salt: str = "",
    ) -> tuple[ModelResponse, CallRecord]:
        """Make one call; return the response and its trace record. Raise ModelCallError.

        ``params`` are merged over the client's default parameters; ``cache_salt`` makes a
        deliberate re-ask (e.g. another sample of the same prompt) miss the call cache
        without changing what is sent.
        """
        ...
