"""A rich progress bar for runs: items done, calls made, elapsed time."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RunProgress:
    """Receives runner events and shows them; a no-op when disabled."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.usage: Callable[[], dict[str, Any]] = lambda: {}
        self.failed = 0
        self._progress = Progress(
            TextColumn("[bold]refining"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[calls]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> RunProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def _calls(self) -> str:
        usage = self.usage()
        refine, judge = usage.get("refine", {}), usage.get("judge", {})
        return (
            f"calls {refine.get('calls', 0)}+{judge.get('calls', 0)} judge, "
            f"cached {refine.get('cache_hits', 0) + judge.get('cache_hits', 0)}, "
            f"failed items {self.failed}"
        )

    def event(self, kind: str, data: dict[str, Any]) -> None:
        """Handle a runner event (``start`` or ``item``)."""
        if kind == "start":
            self._task = self._progress.add_task("run", total=data["todo"], calls=self._calls())
        elif kind == "item" and self._task is not None:
            if data.get("status") != "ok":
                self.failed += 1
            self._progress.update(self._task, advance=1, calls=self._calls())
