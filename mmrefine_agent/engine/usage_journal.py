"""``usage-journal.jsonl``: what a session has paid for, appended as each paid call returns.

``usage.json`` is rewritten as items finish. A session killed between two rewrites would lose
the calls it paid for since, and the next session would get their answers from the call cache
as free hits: the run's usage would say less than was spent, and its budget would start too
low. So each paid call (not a cache hit) also appends the session's totals so far to the
journal: one short flushed line. The next session folds the journal into the sessions
``usage.json`` lists (a session's latest line wins; its entry in ``usage.json`` is replaced
when the journal shows more calls), and a session that ends normally removes the journal
after its last ``usage.json`` write.
"""

from __future__ import annotations

from pathlib import Path

from mmrefine_agent.errors import RunDirError
from mmrefine_agent.records.jsonl_tail import warn_once
from mmrefine_agent.records.models import UsageBlock, UsageMark, UsageSession
from mmrefine_agent.records.rundir import JsonlAppender, read_records


class UsageJournal:
    """Appends a session's usage marks (the file is opened at the first paid call)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._appender: JsonlAppender | None = None

    def mark(self, line: str) -> None:
        """Append (and flush) one mark: a :class:`UsageMark` as one JSON line."""
        if self._appender is None:
            self._appender = JsonlAppender(self.path)
        self._appender.write_line(line)

    def close(self, *, remove: bool) -> None:
        """Close the file; ``remove`` once usage.json holds everything it recorded."""
        if self._appender is not None:
            self._appender.close()
            self._appender = None
        if remove:
            self.path.unlink(missing_ok=True)


def _more(kept: UsageBlock, journal: UsageBlock) -> UsageBlock:
    return journal if journal.calls > kept.calls else kept


def fold(sessions: list[UsageSession], path: Path) -> list[UsageSession]:
    """``sessions`` (from usage.json) with what the journal at ``path`` recorded since."""
    try:
        marks = read_records(path, UsageMark)
    except RunDirError as exc:  # a journal this version cannot read: usage.json as it is
        warn_once(f"{exc}; the usage it recorded is not counted")
        return sessions
    latest: dict[str, UsageMark] = {}
    for mark in marks:
        latest[mark.session] = mark
    out = list(sessions)
    index = {entry.id: n for n, entry in enumerate(out) if entry.id}
    for session, mark in latest.items():
        if session in index:
            entry = out[index[session]]
            out[index[session]] = entry.model_copy(
                update={"refine": _more(entry.refine, mark.refine),
                        "judge": _more(entry.judge, mark.judge)}
            )  # fmt: skip
        else:  # killed before its first usage.json write
            out.append(
                UsageSession(id=session, started_at=mark.started_at, kind=mark.kind,
                             refine=mark.refine, judge=mark.judge)
            )  # fmt: skip
    return out
