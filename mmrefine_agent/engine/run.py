"""Run a strategy over a dataset slice: refine every item through the graph, judge, persist.

Results are written as each item completes. Running again into the same directory resumes:
finished items are kept, unfinished or failed ones are redone, and items whose refinement
finished but whose judgment is missing or failed are only re-judged. A new run directory
always runs every item's graph, judge and scoring; only model calls are reused, from the
content-addressed call cache.

A run is a few named steps: :func:`arun` builds what must be sound before anything is written
(plugins, data, strategy and graph, fingerprint, executor) and takes the run directory's lock;
:func:`_run_locked` then opens the run directory (:func:`_open_run`), builds the session
(engine/session.py), checks the backends (:func:`_preflight`), announces the work
(:func:`_announce`), lets the executor refine and judge the items, and finishes
(:func:`_finish`: usage, scores, submission).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import JsonValue

from mmrefine_agent.config import RunConfig
from mmrefine_agent.engine.executors import (
    Executor,
    ExecutorJob,
    close_executor,
    expect_items,
    make_executor,
)
from mmrefine_agent.engine.finish import finish_run
from mmrefine_agent.engine.gc_tuning import run_gc
from mmrefine_agent.engine.results import failed_result
from mmrefine_agent.engine.resume import ResumePlan, make_fingerprint, plan_resume, prepare_run_dir
from mmrefine_agent.engine.session import (
    CheckedStrategy,
    RunStream,
    Session,
    SessionData,
    check_strategy,
    load_data,
    model_name,
    open_run_stream,
    open_session,
    require_prompts,
)
from mmrefine_agent.engine.usage import RunUsage
from mmrefine_agent.engine.writers import SessionRecords
from mmrefine_agent.events import ItemFinished, RunFinished, RunInfo, RunStarted, Sink
from mmrefine_agent.judging.item_judging import needs_judging, presume_settings, presumed_key
from mmrefine_agent.model.backend import ModelBackend
from mmrefine_agent.model.options import check_options
from mmrefine_agent.plugins_manager import Plugins, load_plugins
from mmrefine_agent.records import rundir
from mmrefine_agent.records.lock import RunLock
from mmrefine_agent.records.models import Fingerprint, ItemResult, Scores, UsageBlock
from mmrefine_agent.records.ownership import check_writable
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.run_plugins import load_run_plugins
from mmrefine_agent.sync import run_sync


@dataclass(slots=True)
class RunOutcome:
    """What a session produced (``scores`` are the run's, ``usage`` this session's)."""

    run_dir: Path
    scores: Scores
    usage: dict[str, UsageBlock]
    n_items: int
    n_done: int
    n_errors: int
    elapsed_s: float
    errors: list[str] = field(default_factory=list)
    stopped_early: str | None = None

    @property
    def complete(self) -> bool:
        """Every configured item finished and (with a judge) has a valid judgment."""
        return self.scores.completeness.complete


@dataclass(slots=True)
class RunRequest:
    """Everything checked before the run directory is touched, and the caller's choices."""

    config: RunConfig
    out: Path
    plugins: Plugins
    data: SessionData
    checked: CheckedStrategy
    fingerprint: Fingerprint
    executor: Executor
    restart: bool
    backend: ModelBackend | None
    judge_backend: ModelBackend | None
    sinks: Iterable[Sink]
    cell: dict[str, JsonValue]
    started: float

    @property
    def injected(self) -> list[str]:
        """Roles whose backend the caller passed as an object."""
        return [r for r, b in (("model", self.backend), ("judge", self.judge_backend)) if b]


async def arun(
    config: RunConfig,
    run_dir: Path | str,
    *,
    plugins: Plugins | Sequence[str | os.PathLike[str]] | None = None,
    restart: bool = False,
    backend: ModelBackend | None = None,
    judge_backend: ModelBackend | None = None,
    sinks: Iterable[Sink] = (),
    cell: dict[str, JsonValue] | None = None,
    executor: Executor | None = None,
) -> RunOutcome:
    """Refine, judge and score every configured item into ``run_dir`` (resuming it).

    ``plugins``: loaded plugins, or plugin modules and ``.py`` paths to load besides the entry
    points (resuming, the modules the run was made with are loaded again and checked).
    ``executor`` runs the items (default: the one ``run.executor`` names; a sweep on Ray
    passes one shared by its cells).
    """
    started = time.perf_counter()
    out = Path(run_dir)
    plugins = plugins_for(out, plugins, restart=restart)
    own = executor is None
    if executor is None:  # a missing extra fails before any file; the worker processes of a
        # fresh run (run.processes) start now, their imports overlapping the data's loading
        fresh = backend is None and judge_backend is None and not (out / rundir.RESULTS).exists()
        executor = make_executor(config, plugins, prestart=fresh)
    try:
        data = load_data(config, plugins)
        require_prompts(config, plugins, data)
        await expect_items(executor, len(data.items))
        # an unknown strategy, a bad option or a bad graph fails before anything is written
        checked = check_strategy(config, plugins)
        check_options(config, plugins, model=backend is None, judge=judge_backend is None)
        fingerprint = make_fingerprint(config, plugins, data.path)
        check_writable(out, "run")  # someone else's directory is refused before the lock file
        request = RunRequest(
            config=config, out=out, plugins=plugins, data=data, checked=checked,
            fingerprint=fingerprint, executor=executor, restart=restart, backend=backend,
            judge_backend=judge_backend, sinks=sinks, cell=dict(cell or {}), started=started,
        )  # fmt: skip
        with RunLock(out, "run"), run_gc():
            return await _run_locked(request)
    finally:
        if own:
            await close_executor(executor)


def plugins_for(
    out: Path,
    given: Plugins | Sequence[str | os.PathLike[str]] | None,
    *,
    restart: bool = False,
) -> Plugins:
    """The plugins of a session on ``out``: ``given`` ones, else those named.

    Resuming a run that recorded its plugin modules, those are loaded again, and checked.
    """
    if isinstance(given, Plugins):
        return given
    modules = list(given or ())
    if not restart and (out / rundir.FINGERPRINT).is_file():
        return load_run_plugins(out, modules)
    return load_plugins(modules)


@dataclass(slots=True)
class OpenRun:
    """The run directory of this session, what is left to do in it, and its event stream."""

    run: RunDir
    plan: ResumePlan
    to_judge: list[ItemResult]
    channel: RunStream
    written: SessionRecords
    errors: list[str] = field(default_factory=list)


async def _run_locked(request: RunRequest) -> RunOutcome:
    opened = _open_run(request)
    session = open_session(
        request.config, request.plugins, request.data.prompts, opened.channel.recorder(),
        refine=request.checked, backend=request.backend, judge_backend=request.judge_backend,
    )  # fmt: skip
    _judge_kept(opened, session, request.data.items)
    watch = FailureWatch()
    ledger = RunUsage(
        opened.run.file(rundir.USAGE), session.services.refine_totals,
        session.services.judge_totals,
    )  # fmt: skip
    session.services.budget.spent += ledger.earlier_cost()  # one budget for the whole run
    try:
        _preflight(session, opened)
        _announce(request, opened)

        def finished(record: ItemResult) -> None:
            opened.channel.stream.emit(ItemFinished(run=opened.channel.info, result=record))
            ledger.item_finished()
            watch.add(record)
            if record.status != "ok":
                opened.errors.append(f"{record.key}: {record.status}: {record.error}")

        job = ExecutorJob(
            session=session, items=request.data.items, todo=opened.plan.todo,
            to_judge=opened.to_judge, finished=finished,
            emit_step=opened.channel.recorder().step,
            emit_judge_call=opened.channel.recorder().judge_call,
            stopped=lambda: watch.stopped is not None, report=opened.errors.append,
            scope=str(request.out), injected=request.injected,
        )  # fmt: skip
        if job.todo or job.to_judge:
            await request.executor.execute(job)
    finally:
        opened.channel.close()
        await session.aclose()
    return _finish(request, opened, session, ledger, watch)


def _open_run(request: RunRequest) -> OpenRun:
    """Create or reopen the run directory (fingerprint checked) and plan what is left."""
    run = prepare_run_dir(request.out, request.config, request.fingerprint,
                          restart=request.restart)  # fmt: skip
    plan = plan_resume(run, list(request.data.items))
    info = RunInfo(run_dir=request.out, config=request.config, cell=request.cell)
    channel = open_run_stream(run, info, request.plugins, request.sinks)
    previous = {r.key: r for r in run.results()}
    steps_file = run.file(rundir.STEPS)
    fresh_steps = not steps_file.is_file() or not steps_file.stat().st_size
    written = SessionRecords(previous, [] if fresh_steps else None)
    channel.stream.subscribe(written.sink, critical=True, name="session records")
    return OpenRun(run=run, plan=plan, to_judge=[], channel=channel, written=written)


def _judge_kept(opened: OpenRun, session: Session, items: Iterable[str]) -> None:
    """Kept records of configured items whose judgment must be made (again).

    Missing, failed, another judge's, or made with other judge settings (model, endpoint,
    parameters, options).
    """
    judge = session.services.judge
    if judge is None:
        return
    configured, per_round = set(items), session.config.judge.per_round
    presumed, key = presumed_key(opened.run.last_scores(), judge), judge.settings_key
    for record in opened.plan.kept.values():
        presume_settings(record, presumed)
    opened.to_judge = [
        r
        for r in opened.plan.kept.values()
        if r.key in configured
        and needs_judging(r, judge.name, per_round, force=False, settings=key)
    ]


def _preflight(session: Session, opened: OpenRun) -> None:
    """Check that the model and judge can work, when there is anything to call them for."""
    if not session.config.run.preflight:
        return
    if opened.plan.todo or any(not r.judgment for r in opened.plan.kept.values()):
        work = session.work
        tools = work.tools.names if work is not None and work.tools is not None else ()
        session.services.preflight(tools=tools)


def _announce(request: RunRequest, opened: OpenRun) -> None:
    """Say what this session will do, and record the dataset's bad records as failed items."""
    data, plan, info = request.data, opened.plan, opened.channel.info
    stream = opened.channel.stream
    items, problems = data.items, data.problems
    stream.emit(
        RunStarted(
            run=info,
            total=len(items) + len(problems),
            todo=len(plan.todo) + len(opened.to_judge),
            done=len(items) - len(plan.todo) - len(opened.to_judge),
        )
    )
    previous = {r.key: r for r in opened.written.results()}
    for problem in problems:
        record = failed_result(
            {"key": problem.key, "id": problem.key.split("_")[0], "row": problem.row,
             "field": problem.field},
            "data_error",
            str(problem),
            strategy=request.config.strategy.name,
            model=model_name(request.config),
        )  # fmt: skip
        earlier = previous.get(problem.key)
        if earlier is None or earlier.error != record.error:
            stream.emit(ItemFinished(run=info, result=record))
        opened.errors.append(str(problem))


def _finish(
    request: RunRequest, opened: OpenRun, session: Session, ledger: RunUsage, watch: FailureWatch
) -> RunOutcome:
    """Write usage, scores and the submission; say what the session did."""
    items, problems = request.data.items, request.data.problems
    usage = ledger.finish()
    scores = finish_run(
        opened.run, request.config, items, [*items, *(p.key for p in problems)], usage,
        records=opened.written.records(),
    )  # fmt: skip
    opened.channel.stream.emit(RunFinished(run=opened.channel.info, scores=scores))
    results = opened.written.results()
    done = sum(1 for r in results if r.status == "ok" and r.key in items)
    total = len(items) + len(problems)
    sink_errors = opened.channel.stream.sink_errors
    return RunOutcome(
        run_dir=request.out,
        scores=scores,
        usage=session.services.usage(),
        n_items=total,
        n_done=done,
        n_errors=total - done,
        elapsed_s=time.perf_counter() - request.started,
        errors=[*opened.errors, *(f"observer {e}" for e in sink_errors)],
        stopped_early=watch.stopped,
    )


class FailureWatch:
    """Stops a run early when most finished items failed with one and the same cause."""

    MIN_ITEMS = 8
    SHARE = 0.9

    def __init__(self) -> None:
        self.seen = 0
        self.causes: dict[str, int] = {}
        self.stopped: str | None = None

    def add(self, record: ItemResult) -> None:
        """Count one finished item (a failure by its cause)."""
        self.seen += 1
        if record.status in ("backend_error", "budget") and record.error:
            cause = record.error.split(": ", 1)[-1][:160]
            self.causes[cause] = self.causes.get(cause, 0) + 1
        if self.stopped is None and self.seen >= self.MIN_ITEMS and self.causes:
            cause, count = max(self.causes.items(), key=lambda kv: kv[1])
            if count >= self.SHARE * self.seen:
                self.stopped = f"{count} of the first {self.seen} items failed with: {cause}"


def run(
    config: RunConfig,
    run_dir: Path | str,
    **options: object,
) -> RunOutcome:
    """Synchronous :func:`arun` (from a notebook with a running loop, it runs in a thread)."""
    return run_sync(arun(config, run_dir, **options))  # type: ignore[arg-type]
