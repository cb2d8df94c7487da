"""The run files as a sink of the event stream: steps, results and judge calls as JSONL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mmrefine_agent.events import (
    Event,
    EventStream,
    ItemFinished,
    JudgeCalled,
    RunInfo,
    Sink,
    StepFinished,
    hook_sink,
)
from mmrefine_agent.records import rundir
from mmrefine_agent.records.models import JudgeCallRecord
from mmrefine_agent.records.rundir import JsonlAppender, RunDir


class RunFiles:
    """Appends each record as its event arrives (flushed: a crash loses one line at most)."""

    def __init__(self, run: RunDir) -> None:
        self.steps = JsonlAppender(run.file(rundir.STEPS))
        self.results = JsonlAppender(run.file(rundir.RESULTS))
        self.judgments = JsonlAppender(run.file(rundir.JUDGMENTS))

    @classmethod
    def stream(cls, run: RunDir, hook: Any, sinks: Iterable[Sink]) -> tuple[EventStream, RunFiles]:
        """A session's event stream: the run files first, then plugin observers and ``sinks``."""
        files = cls(run)
        stream = EventStream()
        stream.subscribe(files.sink, critical=True, name="run files")
        stream.subscribe(hook_sink(hook))
        for sink in sinks:
            stream.subscribe(sink)
        return stream, files

    def sink(self, event: Event) -> None:
        """Write the record an event carries."""
        if isinstance(event, StepFinished):
            self.steps.write(event.step)
        elif isinstance(event, ItemFinished):
            self.results.write(event.result)
        elif isinstance(event, JudgeCalled):
            self.judgments.write(event.call)

    @staticmethod
    def judge_call(run: RunInfo, entry: JudgeCallRecord | dict[str, Any]) -> JudgeCalled:
        """The event for one judge call (a v1 judge's dict entry is validated into a record)."""
        record = (
            entry if isinstance(entry, JudgeCallRecord) else JudgeCallRecord.model_validate(entry)
        )
        return JudgeCalled(run=run, call=record)

    def close(self) -> None:
        """Close the files."""
        for handle in (self.steps, self.results, self.judgments):
            handle.close()
