"""Run a strategy over a dataset slice: refine every item through the graph, judge, persist.

Results are written as each item completes. Running again into the same directory resumes:
finished items are kept, unfinished or failed ones are redone, and items whose refinement
finished but whose judgment is missing or failed are only re-judged.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from mmrefine_agent.config import RunConfig
from mmrefine_agent.data.mmrefine import LoadedData
from mmrefine_agent.data.prompts import OfficialPrompts
from mmrefine_agent.data.run_slice import load_run_items
from mmrefine_agent.engine.answers_ahead import AnswersAhead, wanted
from mmrefine_agent.engine.backend import ModelBackend
from mmrefine_agent.engine.executors import Executor, ExecutorJob, make_executor
from mmrefine_agent.engine.finish import finish_run
from mmrefine_agent.engine.gc_tuning import run_gc
from mmrefine_agent.engine.item_replay import REPLAY_CHUNK, ItemReplay
from mmrefine_agent.engine.lock import RunLock
from mmrefine_agent.engine.resume import make_fingerprint, plan_resume, prepare_run_dir
from mmrefine_agent.engine.services import build_services, open_cache
from mmrefine_agent.engine.usage import RunUsage
from mmrefine_agent.engine.writers import RunFiles, SessionRecords
from mmrefine_agent.errors import RunDirError
from mmrefine_agent.events import (
    Event,
    ItemFinished,
    RunFinished,
    RunInfo,
    RunStarted,
    Sink,
    StepFinished,
)
from mmrefine_agent.graph.builder import compile_graph
from mmrefine_agent.graph.strategy import Strategy
from mmrefine_agent.judging.item_judging import needs_judging
from mmrefine_agent.plugins_manager import Plugins, load_plugins
from mmrefine_agent.records import rundir
from mmrefine_agent.records.models import (
    Fingerprint,
    ItemResult,
    JudgeCallRecord,
    Scores,
    StepEvent,
    UsageBlock,
)
from mmrefine_agent.records.results import failed_result
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


async def arun(
    config: RunConfig,
    run_dir: Path | str,
    *,
    plugins: Plugins | None = None,
    restart: bool = False,
    backend: ModelBackend | None = None,
    judge_backend: ModelBackend | None = None,
    sinks: Iterable[Sink] = (),
    cell: dict[str, JsonValue] | None = None,
    executor: Executor | None = None,
) -> RunOutcome:
    """Refine, judge and score every configured item into ``run_dir`` (resuming it).

    ``executor`` runs the items (default: the one ``run.executor`` names; a sweep on Ray
    passes one shared by its cells).
    """
    started = time.perf_counter()
    plugins = plugins or load_plugins()
    out = Path(run_dir)
    _data_dir, loaded, prompts = load_run_items(config, plugins)
    # an unknown strategy, a bad option or a badly shaped graph fails before anything is written
    strategy = plugins.strategies.get(config.strategy.name)(config.strategy)
    injected = [role for role, b in (("model", backend), ("judge", judge_backend)) if b]
    replay = ItemReplay.for_session(config, plugins, prompts, open_cache, injected=injected)
    remembered = replay.available(loaded.items) if replay is not None else set()
    # every item replayable: the graph is not needed (it compiled when they were remembered)
    work_graph = None
    if len(remembered) < len(loaded.items):
        work_graph = compile_graph(strategy)
    try:
        fingerprint = make_fingerprint(config, plugins, loaded.path)
        executor = executor or make_executor(config)  # a missing extra fails before any file
        if out.exists() and not out.is_dir():
            raise RunDirError(f"{out} is a file, not a run directory; choose another --out")
        with RunLock(out, "run"), run_gc():
            return await _locked_run(
                config, out, plugins, loaded, prompts, fingerprint, started,
                (strategy, work_graph), (replay, remembered),
                restart=restart, backend=backend, judge_backend=judge_backend, sinks=sinks,
                cell=cell, executor=executor,
            )  # fmt: skip
    finally:
        if replay is not None:
            replay.close()


async def _locked_run(
    config: RunConfig,
    out: Path,
    plugins: Plugins,
    loaded: LoadedData,
    prompts: OfficialPrompts | None,
    fingerprint: Fingerprint,
    started: float,
    compiled: tuple[Strategy, Any],
    replaying: tuple[ItemReplay | None, set[str]],
    *,
    restart: bool,
    backend: ModelBackend | None,
    judge_backend: ModelBackend | None,
    sinks: Iterable[Sink],
    cell: dict[str, JsonValue] | None,
    executor: Executor,
) -> RunOutcome:
    strategy, graph = compiled
    replay, remembered = replaying
    run = prepare_run_dir(out, config, fingerprint, restart=restart)
    info = RunInfo(run_dir=out, config=config, cell=dict(cell or {}))
    items = {item.key: item for item in loaded.items}
    plan = plan_resume(run, list(items))
    replayed = [key for key in plan.todo if key in remembered]
    todo = [key for key in plan.todo if key not in remembered]

    stream, files = RunFiles.stream(run, plugins.hook, sinks)
    services = build_services(
        config,
        plugins,
        prompts,
        lambda entry: stream.emit(files.judge_call(info, entry)),
        backend=backend,
        judge_backend=judge_backend,
    )
    assert services.client is not None
    if config.run.preflight and (todo or any(not r.judgment for r in plan.kept.values())):
        try:
            services.preflight()
        except BaseException:
            files.close()
            await services.aclose()
            raise
    ledger = RunUsage(run.file("usage.json"), services.refine_totals, services.judge_totals)
    model_name = f"{config.model.backend}:{config.model.name}"
    errors: list[str] = []

    def emit_step(step: StepEvent) -> None:
        stream.emit(StepFinished(run=info, step=step))

    watch = FailureWatch()

    def finished(record: ItemResult) -> None:
        stream.emit(ItemFinished(run=info, result=record))
        ledger.item_finished()
        watch.add(record)
        if record.status != "ok":
            errors.append(f"{record.key}: {record.status}: {record.error}")

    judge_name = services.judge.name if services.judge is not None else None
    to_judge = [
        r
        for r in plan.kept.values()
        if r.key in items
        and judge_name is not None
        and needs_judging(r, judge_name, config.judge.per_round, force=False)
    ]
    problem_keys = [p.key for p in loaded.problems]
    stream.emit(
        RunStarted(
            run=info,
            total=len(items) + len(problem_keys),
            todo=len(plan.todo) + len(to_judge),
            done=len(items) - len(plan.todo) - len(to_judge),
        )
    )
    previous = {r.key: r for r in run.results()}
    steps_file = run.file(rundir.STEPS)
    written = SessionRecords(
        previous, [] if not steps_file.is_file() or not steps_file.stat().st_size else None
    )
    stream.subscribe(written.sink, critical=True, name="session records")
    for problem in loaded.problems:
        record = failed_result(
            {"key": problem.key, "id": problem.key.split("_")[0], "row": problem.row,
             "field": problem.field},
            "data_error",
            str(problem),
            strategy=strategy.name,
            model=model_name,
        )  # fmt: skip
        earlier = previous.get(problem.key)
        if earlier is None or earlier.error != record.error:
            stream.emit(ItemFinished(run=info, result=record))
        errors.append(str(problem))

    def replay_event(record: StepEvent | JudgeCallRecord) -> Event:
        if isinstance(record, StepEvent):
            return StepFinished(run=info, step=record)
        return files.judge_call(info, record)

    job = ExecutorJob(
        config=config, plugins=plugins, prompts=prompts, strategy=strategy, graph=graph,
        services=services, model_name=model_name, items=items, todo=todo,
        to_judge=to_judge, finished=finished, emit_step=emit_step,
        emit_judge_call=lambda call: stream.emit(files.judge_call(info, call)),
        stopped=lambda: watch.stopped is not None, report=errors.append,
        scope=str(out),
        injected=[role for role, b in (("model", backend), ("judge", judge_backend)) if b],
    )  # fmt: skip
    ahead: AnswersAhead | None = None
    try:
        if replay is not None:
            for start in range(0, len(replayed), REPLAY_CHUNK):
                chunk = replayed[start : start + REPLAY_CHUNK]
                outcomes = replay.lookup([items[key] for key in chunk])
                todo.extend(key for key in chunk if key not in outcomes)  # unreadable: run it
                with files.batched():
                    for key in chunk:
                        if key in outcomes:
                            finished(
                                replay.replay(
                                    outcomes[key], stream.emit, replay_event,
                                    services.refine_totals, services.judge_totals,
                                )
                            )  # fmt: skip
            stream.subscribe(replay.watch(todo), name="item replay")
        if wanted(config.run.answer_checks, len(todo)):
            ahead = AnswersAhead(items, services.cache)  # the session's connection
            stream.subscribe(ahead.sink, name="answer checks ahead")
        if todo or to_judge:
            await executor.execute(job)
    except BaseException:
        if ahead is not None:  # nothing will be scored: stop the helper now
            ahead.close()
        raise
    finally:
        if replay is not None:
            replay.flush()
        files.close()
        await services.aclose()
    usage = ledger.write()
    if ahead is not None:
        ahead.install()
    scores = finish_run(
        run, config, items, [*items, *problem_keys], usage, records=written.records(),
        digests=replay.digests if replay is not None else None,
    )  # fmt: skip
    stream.emit(RunFinished(run=info, scores=scores))
    results = written.results()
    done = sum(1 for r in results if r.status == "ok" and r.key in items)
    return RunOutcome(
        run_dir=out,
        scores=scores,
        usage=services.usage(),
        n_items=len(items) + len(problem_keys),
        n_done=done,
        n_errors=len(items) + len(problem_keys) - done,
        elapsed_s=time.perf_counter() - started,
        errors=[*errors, *(f"observer {e}" for e in stream.sink_errors)],
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
