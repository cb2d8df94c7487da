"""Tokens, calls and cost: per item (from its own steps) and per run across resumed sessions.

``usage.json`` holds the run's totals over every session that worked on it (a resumed run
adds up), plus one entry per session. It is rewritten (atomically, a few hundred bytes) as
items finish (once for all the items that finish in the same turn of the event loop); what a
session pays between two rewrites is kept in ``usage-journal.jsonl`` as each paid call
returns (engine/usage_journal.py), so a killed session's spend is never lost.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from mmrefine_agent.engine.client import UsageTotals
from mmrefine_agent.engine.usage_journal import UsageJournal, fold
from mmrefine_agent.errors import RunDirError
from mmrefine_agent.records.models import (
    SCHEMA_VERSION,
    CallUsage,
    NodeUsage,
    StepEvent,
    UsageBlock,
    UsageDoc,
    UsageSession,
)
from mmrefine_agent.records.rundir import USAGE_JOURNAL, read_document, write_json_atomic
from mmrefine_agent.records.steps import StepRecord


def sum_calls(usages: Iterable[CallUsage]) -> UsageBlock:
    """Calls, cache hits, tokens and cost of a set of calls.

    A cache hit counts its tokens (the answer used them) but no call and no cost.
    """
    calls = hits = tokens_in = tokens_out = 0
    cost = 0.0
    for usage in usages:
        if usage.cache_hit:
            hits += 1
        else:
            calls += 1
            cost += usage.cost_usd
        tokens_in += usage.input_tokens
        tokens_out += usage.output_tokens
    return UsageBlock(
        calls=calls,
        cache_hits=hits,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=round(cost, 6),
    )


def item_usage(steps: Iterable[StepRecord]) -> UsageBlock:
    """Calls, cache hits, tokens and cost of one item's own steps."""
    return sum_calls(call.usage for step in steps for call in step.calls)


def by_node(steps: Iterable[StepEvent]) -> dict[str, NodeUsage]:
    """Steps, calls, cache hits, tokens and cost per graph node."""
    grouped: dict[str, list[StepEvent]] = {}
    for step in steps:
        grouped.setdefault(step.node, []).append(step)
    return {
        node: NodeUsage(
            steps=len(group),
            **sum_calls(call.usage for step in group for call in step.calls).model_dump(),
        )
        for node, group in grouped.items()
    }


class RunUsage:
    """The usage ledger of one run directory (this session plus earlier ones)."""

    def __init__(
        self,
        path: Path,
        refine: UsageTotals,
        judge: UsageTotals,
        *,
        kind: Literal["run", "judge"] = "run",
    ) -> None:
        self.path = path
        self.refine = refine
        self.judge = judge
        self.kind: Literal["run", "judge"] = kind
        self.id = uuid.uuid4().hex[:12]
        self.started = time.perf_counter()
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.journal = UsageJournal(path.with_name(USAGE_JOURNAL))
        head = {"version": SCHEMA_VERSION, "session": self.id, "started_at": self.started_at,
                "kind": kind}  # fmt: skip
        self._prefix = json.dumps(head)[:-1] + ","
        self.earlier: list[UsageSession] = fold(previous_sessions(path), self.journal.path)
        self._pending = False
        self._failed: Exception | None = None
        refine.on_paid = judge.on_paid = self._paid

    def earlier_cost(self) -> float:
        """What the run's earlier sessions spent (refinement and judging), in USD."""
        return sum(s.refine.cost_usd + s.judge.cost_usd for s in self.earlier)

    def _paid(self) -> None:
        """A paid call returned: journal this session's usage so far (a ``UsageMark`` line).

        Built as plain JSON, not through the model: this runs once per paid call.
        """
        line = f'{self._prefix}"refine":{self.refine.as_json()},"judge":{self.judge.as_json()}}}'
        try:
            self.journal.mark(line)
        except OSError as exc:  # a full disk: raised by the next item_finished
            self._failed = exc

    def session(self) -> UsageSession:
        """The usage of the current process so far."""
        return UsageSession(
            id=self.id,
            started_at=self.started_at,
            elapsed_s=round(time.perf_counter() - self.started, 3),
            kind=self.kind,
            refine=self.refine.snapshot(),
            judge=self.judge.snapshot(),
        )

    def document(self) -> UsageDoc:
        """What ``usage.json`` holds: run totals, this session's elapsed time, all sessions."""
        sessions = [*self.earlier, self.session()]
        refine, judge = UsageBlock(), UsageBlock()
        for entry in sessions:
            refine = refine.plus(entry.refine)
            judge = judge.plus(entry.judge)
        return UsageDoc(
            refine=refine, judge=judge, elapsed_s=sessions[-1].elapsed_s, sessions=sessions
        )

    def write(self) -> UsageDoc:
        """Rewrite ``usage.json``; returns what was written."""
        doc = self.document()
        write_json_atomic(self.path, doc)
        self._pending = False
        return doc

    def finish(self) -> UsageDoc:
        """The session's last ``usage.json`` write; the journal is then no longer needed."""
        doc = self.write()
        self.refine.on_paid = self.judge.on_paid = None
        self.journal.close(remove=True)
        return doc

    def item_finished(self) -> None:
        """Rewrite ``usage.json`` once the items finishing in this turn of the loop are done.

        A failed deferred write (a full disk) is raised here, in the next finishing item.
        """
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        if self._pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.write()
            return
        self._pending = True
        loop.call_soon(self._write_pending)

    def _write_pending(self) -> None:
        if self._pending:
            try:
                self.write()
            except Exception as exc:  # raised by the next item_finished (or the final write)
                self._pending = False
                self._failed = exc


def previous_sessions(path: Path) -> list[UsageSession]:
    """The sessions recorded in an existing ``usage.json`` (an unreadable file: none)."""
    try:
        doc = read_document(path, UsageDoc)
    except RunDirError:
        return []
    if doc is None:
        return []
    if doc.sessions:
        return list(doc.sessions)
    return [UsageSession(refine=doc.refine, judge=doc.judge)]
