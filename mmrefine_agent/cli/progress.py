"""A rich progress bar fed by the run's event stream: items done, calls, failures, time."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from rich.console import Console

from mmrefine_agent.events import Event, ItemFinished, RunStarted
from mmrefine_agent.records.models import UsageBlock


class RunProgress:
    """A sink of the event stream that shows progress; a no-op when disabled.

    Disabled (``--quiet``), rich's progress bar is neither imported nor built.
    """

    def __init__(self, console: Console, *, enabled: bool = True, label: str = "refining") -> None:
        self.enabled = enabled
        self.usage: Callable[[], dict[str, UsageBlock]] = dict
        self.failed = 0
        self._progress: Any = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn(f"[bold]{label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[calls]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
        self._task: Any = None
        self._calls_seen = 0

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)

    def _calls(self) -> str:
        usage = self.usage()
        refine, judge = usage.get("refine", UsageBlock()), usage.get("judge", UsageBlock())
        return (
            f"calls {refine.calls}+{judge.calls} judge, "
            f"cached {refine.cache_hits + judge.cache_hits}, failed items {self.failed}"
        )

    def __call__(self, event: Event) -> None:
        """Handle one event of the run."""
        if self._progress is None:
            if isinstance(event, ItemFinished) and event.result.status != "ok":
                self.failed += 1
            return
        if isinstance(event, RunStarted):
            self._task = self._progress.add_task("run", total=event.todo, calls=self._calls())
        elif isinstance(event, ItemFinished) and self._task is not None:
            if event.result.status != "ok":
                self.failed += 1
            self._progress.update(self._task, advance=1, calls=self._calls())
