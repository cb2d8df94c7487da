"""Step records: one typed, versioned event per graph step, written to ``steps.jsonl``."""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

TRACE_VERSION = 1


@dataclass(slots=True)
class CallRecord:
    """One model call made inside a step."""

    messages: list[dict[str, Any]]
    answer: str
    usage: dict[str, Any]
    error: str | None = None
    attempts: int = 1


@dataclass(slots=True)
class StepRecord:
    """One graph step of one item: what was asked, what came back, what was parsed."""

    item_key: str
    round: int
    node: str
    strategy: str
    kind: str = "step"
    version: int = TRACE_VERSION
    timestamp: float = field(default_factory=time.time)
    calls: list[CallRecord] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)
    parse_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    error: dict[str, str] | None = None

    def fail(self, exc: BaseException) -> None:
        """Record an exception raised in this step (type, message, traceback)."""
        self.error = {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc)),
        }
        self.notes.append(f"error: {type(exc).__name__}: {exc}")

    @property
    def raw_answer(self) -> str | None:
        """The answer of the last call in this step (None for a parse-only step)."""
        return self.calls[-1].answer if self.calls else None

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready record (fields of the design card plus per-call detail)."""
        data = asdict(self)
        data["raw_answer"] = self.raw_answer
        last = self.calls[-1].usage if self.calls else {}
        data["prompt"] = self.calls[-1].messages if self.calls else None
        data["model"] = last.get("model")
        data["tokens"] = {
            "input": sum(c.usage.get("input_tokens", 0) for c in self.calls),
            "output": sum(c.usage.get("output_tokens", 0) for c in self.calls),
        }
        data["cost_usd"] = sum(c.usage.get("cost_usd", 0.0) for c in self.calls)
        data["latency_s"] = round(sum(c.usage.get("latency_s", 0.0) for c in self.calls), 4)
        data["cache_hit"] = bool(self.calls) and all(c.usage.get("cache_hit") for c in self.calls)
        data["parse_only"] = not self.calls
        return data
