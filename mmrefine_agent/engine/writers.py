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
from mmrefine_agent.records.models import ItemResult, JudgeCallRecord, StepEvent
from mmrefine_agent.records.rundir import JsonlAppender, RunDir


class RunFiles:
    """Appends each record as its event arrives (flushed: a crash loses one line at most)."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.steps = JsonlAppender(run.file(rundir.STEPS))
        self.results = JsonlAppender(run.file(rundir.RESULTS))
        self.judgments = JsonlAppender(run.file(rundir.JUDGMENTS))
        self._handles = (self.steps, self.results, self.judgments)
        # an item's result line is written after its step and judge-call lines, each flushed
        # as it is written: a kill never leaves a finished item whose records are missing

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
            if event.step.image_files:  # images tool runs returned: stored before the line
                self.run.store_files(event.step.image_files)
                event.step.image_files = {}  # on disk now; a long run keeps no image bytes
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
        for handle in self._handles:
            handle.close()


class SessionRecords:
    """The run's results and steps as its files hold them, kept while this session writes.

    Seeded with what the files held when the session began (``previous``: the latest result
    per key, in file order; ``steps``: None when the steps file already had lines, which are
    then read back at the end), so finishing the run need not read back what it just wrote.
    """

    def __init__(self, previous: dict[str, ItemResult], steps: list[StepEvent] | None) -> None:
        self._results = dict(previous)
        self._steps = steps

    def sink(self, event: Event) -> None:
        """Keep the record an event carries (the latest result per key wins, moved last)."""
        if isinstance(event, ItemFinished):
            self._results.pop(event.result.key, None)
            self._results[event.result.key] = event.result
        elif isinstance(event, StepFinished) and self._steps is not None:
            self._steps.append(event.step)

    def results(self) -> list[ItemResult]:
        """The latest result per item key, in file order (what ``RunDir.results`` reads)."""
        return list(self._results.values())

    def records(self) -> tuple[list[ItemResult], list[StepEvent]] | None:
        """(results, steps) as the files hold them, or None when the steps must be read."""
        if self._steps is None:
            return None
        return self.results(), self._steps
