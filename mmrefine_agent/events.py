"""One typed event stream: what a run emits, and the sinks that consume it.

The engine emits events from one place; the run files (JSONL writers), the pluggy observer
hooks and the progress bar are sinks of the same stream, so they can never disagree.

    RunStarted -> (StepFinished | JudgeCalled | ItemFinished)* -> RunFinished
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import JsonValue

from mmrefine_agent.records.models import ItemResult, JudgeCallRecord, Scores, StepEvent

if TYPE_CHECKING:
    from mmrefine_agent.config import RunConfig


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The run an event belongs to (what observers get as ``run``)."""

    run_dir: Path
    config: RunConfig
    cell: dict[str, JsonValue] = field(default_factory=dict)
    """The sweep cell's values (empty outside a sweep)."""
    session: Literal["run", "judge"] = "run"


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A session started: how many items in all, still to do, already done."""

    run: RunInfo
    total: int
    todo: int
    done: int
    kind: Literal["run_started"] = "run_started"


@dataclass(frozen=True, slots=True)
class StepFinished:
    """A graph step finished (written to steps.jsonl)."""

    run: RunInfo
    step: StepEvent
    kind: Literal["step"] = "step"


@dataclass(frozen=True, slots=True)
class JudgeCalled:
    """A judge call or decision was made (written to judgments.jsonl)."""

    run: RunInfo
    call: JudgeCallRecord
    kind: Literal["judge_call"] = "judge_call"


@dataclass(frozen=True, slots=True)
class ItemFinished:
    """An item's result is final for this session (written to results.jsonl)."""

    run: RunInfo
    result: ItemResult
    kind: Literal["item"] = "item"


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The session wrote scores.json."""

    run: RunInfo
    scores: Scores
    kind: Literal["run_finished"] = "run_finished"


Event = RunStarted | StepFinished | JudgeCalled | ItemFinished | RunFinished
Sink = Callable[[Event], None]


class EventStream:
    """Dispatches every event to its sinks in order. A failing sink is reported once, not fatal.

    Sinks that write the run files must not fail silently, so a sink marked ``critical`` lets
    its exception propagate; observers (plugins, progress) are contained.
    """

    def __init__(self) -> None:
        self._sinks: list[tuple[Sink, bool, str]] = []
        self.sink_errors: list[str] = []

    def subscribe(self, sink: Sink, *, critical: bool = False, name: str = "") -> None:
        """Add a sink; ``critical`` sinks (the run files) propagate their exceptions."""
        self._sinks.append((sink, critical, name or getattr(sink, "__name__", "sink")))

    def emit(self, event: Event) -> None:
        """Send one event to every sink."""
        for sink, critical, name in self._sinks:
            if critical:
                sink(event)
                continue
            try:
                sink(event)
            except Exception as exc:  # observer code must not stop the run
                message = f"{name}: {type(exc).__name__}: {exc}"
                if message not in self.sink_errors:
                    self.sink_errors.append(message)
                    print(f"warning: observer failed: {message}", file=sys.stderr)


def hook_sink(hook: Any) -> Sink:
    """The pluggy observer hooks as a sink (``plugins.hook``)."""

    def relay(event: Event) -> None:
        # the per-record hooks are called only when a plugin implements them (checked each
        # time: a plugin registered during the run is still called)
        if isinstance(event, StepFinished):
            if hook.mmrefine_observe_step.get_hookimpls():
                hook.mmrefine_observe_step(step=event.step, run=event.run)
        elif isinstance(event, JudgeCalled):
            if hook.mmrefine_observe_judgment.get_hookimpls():
                hook.mmrefine_observe_judgment(record=event.call, run=event.run)
        elif isinstance(event, ItemFinished):
            if hook.mmrefine_observe_item.get_hookimpls():
                hook.mmrefine_observe_item(result=event.result, run=event.run)
        elif isinstance(event, RunStarted):
            hook.mmrefine_run_started(run=event.run)
        elif isinstance(event, RunFinished):
            hook.mmrefine_run_finished(
                run_dir=str(event.run.run_dir), scores=event.scores, run=event.run
            )

    relay.__name__ = "plugin observers"
    return relay
