"""Run directories left by the v1 worker processes: ``RUN/workers/<k>/`` shards, adopted once.

Version 0.1's ``run.workers`` ran each share of the items as its own run into
``RUN/workers/<k>`` and merged the shards into the run's files when the workers ended. A run
killed before that merge left finished items only in the shards. Resuming such a run adopts
them, idempotently, so that a kill at any point of the adoption never doubles a record and
never drops a finished one:

1. the shards' refined results whose item is not yet refined in the run are the ones adopted;
2. steps.jsonl and judgments.jsonl are rewritten atomically without those items' lines, plus
   the shards' lines for them (a second attempt replaces, never appends twice);
3. the shards' usage sessions are added to usage.json unless already there;
4. the adopted results are appended to results.jsonl (the commit point: once there, step 1
   adopts nothing more);
5. the ``workers`` directory is removed.

Everything else in a shard (failed items, data errors, the workers' configs and PID files) is
dropped: failed items are redone by the resume, as they would be in the run itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mmrefine_agent.errors import RunDirError
from mmrefine_agent.records import rundir
from mmrefine_agent.records.models import (
    ItemResult,
    JudgeCallRecord,
    StepEvent,
    UsageDoc,
    UsageSession,
)
from mmrefine_agent.records.rundir import JsonlAppender, RunDir, read_document, read_records

WORKERS_DIR = "workers"


def shard_dirs(run: RunDir) -> list[Path]:
    """The v1 worker shards in a run directory (none: an empty list)."""
    base = run.file(WORKERS_DIR)
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def _latest(path: Path) -> list[ItemResult]:
    latest: dict[str, ItemResult] = {}
    for record in read_records(path, ItemResult):
        latest.pop(record.key, None)
        latest[record.key] = record
    return list(latest.values())


def _sessions(shard: Path) -> list[UsageSession]:
    try:
        doc = read_document(shard / rundir.USAGE, UsageDoc)
    except RunDirError:  # a worker killed while writing it: its usage is unknown
        return []
    if doc is None:
        return []
    return list(doc.sessions) or [UsageSession(refine=doc.refine, judge=doc.judge)]


def adopt_worker_shards(run: RunDir) -> int:
    """Move the finished items of v1 worker shards into the run; returns how many."""
    shards = shard_dirs(run)
    if not shards:
        return 0
    refined = {r.key for r in run.results() if r.refined}
    adopted: dict[str, ItemResult] = {}
    for shard in shards:
        for record in _latest(shard / rundir.RESULTS):
            if record.refined and record.key not in refined and record.key not in adopted:
                adopted[record.key] = record
    keys = set(adopted)
    if keys:
        steps = [s for s in run.steps() if s.item_key not in keys]
        calls = [c for c in run.judgments() if c.item_key not in keys]
        for shard in shards:
            steps += [
                s for s in read_records(shard / rundir.STEPS, StepEvent) if s.item_key in keys
            ]
            calls += [
                c for c in read_records(shard / rundir.JUDGMENTS, JudgeCallRecord)
                if c.item_key in keys
            ]  # fmt: skip
        rundir.rewrite_records(run.file(rundir.STEPS), list(steps))
        rundir.rewrite_records(run.file(rundir.JUDGMENTS), list(calls))
    _add_usage(run, [session for shard in shards for session in _sessions(shard)])
    if keys:
        results = JsonlAppender(run.file(rundir.RESULTS))
        try:
            for record in adopted.values():
                results.write(record)
        finally:
            results.close()
    shutil.rmtree(run.file(WORKERS_DIR), ignore_errors=True)
    return len(keys)


def _add_usage(run: RunDir, sessions: list[UsageSession]) -> None:
    """Add the shards' sessions to usage.json (those already there are not added again)."""
    if not sessions:
        return
    try:
        doc = read_document(run.file(rundir.USAGE), UsageDoc) or UsageDoc()
    except RunDirError:
        doc = UsageDoc()
    totals = UsageSession(refine=doc.refine, judge=doc.judge)
    known = list(doc.sessions) or ([totals] if totals != UsageSession() else [])
    fresh = [s for s in sessions if s not in known]
    if not fresh:
        return
    every = [*known, *fresh]
    refine, judge = every[0].refine, every[0].judge
    for entry in every[1:]:
        refine, judge = refine.plus(entry.refine), judge.plus(entry.judge)
    rundir.write_json_atomic(
        run.file(rundir.USAGE),
        UsageDoc(refine=refine, judge=judge, elapsed_s=doc.elapsed_s, sessions=every),
    )
