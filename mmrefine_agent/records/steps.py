"""The step being recorded: a mutable builder a node fills, frozen into a :class:`StepEvent`."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue

from mmrefine_agent.records.models import CallRecord, StepError, StepEvent, ToolRunRecord


def jsonable(value: Any) -> JsonValue:
    """A JSON-ready copy of a parsed value (anything else becomes its text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


@dataclass(slots=True)
class StepRecord:
    """One graph step of one item while it runs: what was asked, came back, was parsed."""

    item_key: str
    round: int
    node: str
    strategy: str
    timestamp: float = field(default_factory=time.time)
    calls: list[CallRecord] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)
    parse_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    error: StepError | None = None
    tool_runs: list[ToolRunRecord] = field(default_factory=list)
    image_files: dict[str, bytes] = field(default_factory=dict)
    """Images tool runs returned, by run-relative path (stored by the run files)."""

    def fail(self, exc: BaseException) -> None:
        """Record an exception raised in this step (type, message, traceback)."""
        self.error = StepError(
            type=type(exc).__name__,
            message=str(exc),
            traceback="".join(traceback.format_exception(exc)),
        )
        self.notes.append(f"error: {type(exc).__name__}: {exc}")

    @property
    def raw_answer(self) -> str | None:
        """The answer of the last call in this step (None for a parse-only step)."""
        return self.calls[-1].answer if self.calls else None

    def to_event(self) -> StepEvent:
        """The finished step as the record written to ``steps.jsonl``."""
        return StepEvent(
            item_key=self.item_key,
            round=self.round,
            node=self.node,
            strategy=self.strategy,
            timestamp=self.timestamp,
            calls=list(self.calls),
            parsed={str(k): jsonable(v) for k, v in self.parsed.items()},
            parse_errors=list(self.parse_errors),
            notes=list(self.notes),
            elapsed_s=self.elapsed_s,
            error=self.error,
            tool_runs=list(self.tool_runs),
            image_files=dict(self.image_files),
        )
