"""Bounds on what a backend hands back: the reply's size and believable usage figures.

Checked by the client on every reply, whatever the backend (so a third-party backend is held
to the same bounds). Both checks cost a few comparisons for an ordinary reply: the size is
only measured when the text is long enough to possibly exceed the limit.

- A reply larger than ``max_reply_bytes`` (``model.`` / ``judge.``) fails its call for good
  (the item ends as ``backend_error`` with a one-line reason). The ``openai_compat`` backend
  stops reading at the limit; other backends are checked on what they return.
- Token counts that are not whole numbers in ``0..MAX_TOKENS``, and costs that are negative,
  not finite or above ``MAX_COST_USD``, are counted as 0; the step's notes say which figure
  was not believed. A server's accounting is not a reason to fail an item.
"""

from __future__ import annotations

import math

from mmrefine_agent.config import MAX_REPLY_BYTES as DEFAULT_MAX_REPLY_BYTES
from mmrefine_agent.config import MAX_RETRY_AFTER_S as DEFAULT_MAX_RETRY_AFTER_S
from mmrefine_agent.model.backend import MAX_TOKENS
from mmrefine_agent.types import ModelResponse

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES",
    "DEFAULT_MAX_RETRY_AFTER_S",
    "MAX_COST_USD",
    "believable_usage",
    "reply_bytes_over",
    "too_large",
]

MAX_COST_USD = 1e6
"""More than any one call costs: a cost above it is not believed."""


def reply_bytes_over(text: str, limit: int) -> int | None:
    """The UTF-8 size of ``text`` when it is over ``limit`` bytes, else None.

    A text of n characters takes at most 4n bytes, so short texts are never encoded.
    """
    if len(text) * 4 <= limit:
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > limit else None


def too_large(node: str, section: str, limit: int, size: int | None = None) -> str:
    """The one-line reason a call failed on a reply over ``{section}.max_reply_bytes``."""
    got = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes (stopped reading)"
    return (
        f"{node}: reply too large: {got}; {section}.max_reply_bytes is {limit:,} "
        "(raise it, or lower max_tokens)"
    )


def _shown(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"{'-' if value < 0 else ''}a {digits}-digit number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def believable_usage(response: ModelResponse) -> None:
    """Count implausible token figures and costs as 0, and say so in the response's notes."""
    doubted = []
    for name in ("input_tokens", "output_tokens"):
        value = getattr(response, name)
        if type(value) is not int or not 0 <= value <= MAX_TOKENS:
            doubted.append(f"{name}={_shown(value)}")
            setattr(response, name, 0)
    cost = response.cost_usd
    if type(cost) not in (float, int) or not 0 <= cost <= MAX_COST_USD:  # NaN fails too
        doubted.append(f"cost_usd={_shown(cost)}")
        response.cost_usd = 0.0
    if doubted:
        response.notes.append(f"usage figures not believable, counted as 0: {', '.join(doubted)}")
