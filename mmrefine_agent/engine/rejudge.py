"""Re-judge a run directory, or score an official-format submission, with no refinement calls.

Re-judging may only change judge settings (``--set judge.*``). The run's config.yaml is left
as it is (it describes how the outputs were made); the judging session is recorded in
usage.json with the judge settings it used, and scores.json says which judge scored it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mmrefine_agent.config import RunConfig, build_config, load_config_dict
from mmrefine_agent.engine.finish import finish_run
from mmrefine_agent.engine.results import item_fields
from mmrefine_agent.engine.run import RunOutcome
from mmrefine_agent.engine.session import load_data, open_run_stream, open_session
from mmrefine_agent.engine.trust import check_run_judge
from mmrefine_agent.engine.usage import RunUsage
from mmrefine_agent.errors import ConfigError, DataError, RunDirError
from mmrefine_agent.events import ItemFinished, RunFinished, RunInfo, RunStarted, Sink
from mmrefine_agent.judging.item_judging import (
    judge_record,
    needs_judging,
    presume_settings,
    presumed_key,
)
from mmrefine_agent.model.options import check_options
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records import rundir
from mmrefine_agent.records.lock import RunLock
from mmrefine_agent.records.models import FinalOutput, ItemResult, RoundSummary
from mmrefine_agent.records.ownership import check_writable, claim
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.types import Item


def check_judge_overrides(overrides: Iterable[str]) -> list[str]:
    """Only ``judge.*`` keys (and the budget) may change when re-judging (outputs are made)."""
    out = list(overrides)
    for text in out:
        key = text.split("=", 1)[0].strip()
        if not key.startswith("judge.") and key != "run.max_cost_usd":
            raise ConfigError(
                f"--set {key}: re-judging may only change judge settings (judge.*) and the "
                "budget (run.max_cost_usd); to change how outputs are made, start a new run"
            )
    return out


async def judge_records(
    config: RunConfig,
    plugins: Plugins,
    run: RunDir,
    items: dict[str, Item],
    records: list[ItemResult],
    prompts: Any,
    *,
    expected: Sequence[str],
    force: bool,
    sinks: Iterable[Sink] = (),
) -> RunOutcome:
    """Judge ``records`` (missing/failed judgments, or all with ``force``); write run files.

    ``expected`` are the keys of the run's configured items: completeness and scores are
    over them (an item never run is missing; a record of another key is not counted).
    """
    started = time.perf_counter()
    info = RunInfo(run_dir=run.path, config=config, session="judge")
    channel = open_run_stream(run, info, plugins, sinks)
    stream = channel.stream
    session = open_session(config, plugins, prompts, channel.recorder(), refine=False)
    services, judge = session.services, session.services.judge
    if judge is None:
        channel.close()
        await session.aclose()
        raise RunDirError("judge.name is 'none': nothing to judge with")
    ledger = RunUsage(run.file(rundir.USAGE), services.refine_totals, services.judge_totals,
                      kind="judge")  # fmt: skip
    services.budget.spent += ledger.earlier_cost()  # one budget for the whole run
    slots = asyncio.Semaphore(max(4, config.judge.concurrency * 2))
    presumed, key = presumed_key(run.last_scores(), judge), judge.settings_key
    for record in records:
        presume_settings(record, presumed)
    todo = [
        r
        for r in records
        if r.key in items
        and needs_judging(r, judge.name, config.judge.per_round, force=force, settings=key)
    ]
    if todo and config.run.preflight:  # a judge that cannot work fails in seconds
        try:
            services.preflight()
        except BaseException:
            channel.close()
            await session.aclose()
            raise
    stream.emit(
        RunStarted(run=info, total=len(expected), todo=len(todo), done=len(expected) - len(todo))
    )

    async def one(record: ItemResult) -> None:
        async with slots:
            await judge_record(judge, items[record.key], record, per_round=config.judge.per_round,
                               force=force)  # fmt: skip
            stream.emit(ItemFinished(run=info, result=record))
            ledger.item_finished()

    try:
        await asyncio.gather(*(one(r) for r in todo))
    finally:
        channel.close()
        await session.aclose()
    usage = ledger.finish()
    scores = finish_run(run, config, items, expected, usage)
    stream.emit(RunFinished(run=info, scores=scores))
    wanted = set(expected)
    latest = {r.key: r for r in run.results() if r.key in wanted}
    failed = [r for r in latest.values() if r.status != "ok"]
    n_done = len(latest) - len(failed)
    return RunOutcome(
        run_dir=run.path,
        scores=scores,
        usage=services.usage(),
        n_items=len(expected),
        n_done=n_done,
        n_errors=len(expected) - n_done,
        elapsed_s=time.perf_counter() - started,
        errors=[f"{r.key}: {r.status}: {r.error}" for r in failed],
    )


async def rejudge_run(
    path: Path,
    plugins: Plugins,
    *,
    overrides: list[str] | None = None,
    force: bool = False,
    sinks: Iterable[Sink] = (),
    judge_section: dict[str, Any] | None = None,
    trust_run_config: bool = False,
) -> RunOutcome:
    """Judge the items of a run whose judgment is missing, failed or made otherwise.

    ``judge_section`` (the ``judge:`` mapping of a config of the caller's) replaces the run's;
    without it, judge settings that route requests must be restated in ``overrides`` or
    confirmed with ``trust_run_config`` (engine/trust.py).
    """
    run = RunDir(path).require()
    check_writable(path, "run")
    origin = str(run.file(rundir.CONFIG))
    raw = load_config_dict(run.file(rundir.CONFIG))
    if judge_section is not None:
        raw = {**raw, "judge": judge_section}
    changes = check_judge_overrides(overrides or [])
    config = build_config(raw, changes, origin=origin, stored=True)
    if judge_section is None and not trust_run_config and config.judge.name not in ("none", ""):
        judge_cls = plugins.judges.get(config.judge.name)
        stored = build_config(raw, [], origin=origin, stored=True)
        check_run_judge(origin, stored, changes, needs_model=judge_cls.needs_model)
    check_options(config, plugins, model=False)
    data = load_data(config, plugins)
    with RunLock(path, "judge"):
        claim(path, "run")
        run.cut_unreadable_tails()  # before anything reads them or appends
        return await judge_records(
            config,
            plugins,
            run,
            data.items,
            run.results(),
            data.prompts,
            expected=[*data.items, *(p.key for p in data.problems)],
            force=force,
            sinks=sinks,
        )


def submission_items(path: Path, known: dict[str, Item]) -> tuple[list[Item], dict[str, str]]:
    """Items and predictions from an official submission file (errors name the entry)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read submission: {exc}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: a submission is a JSON object keyed by item key")
    items: list[Item] = []
    predictions: dict[str, str] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise DataError(f"{path}: entry {key!r}: must be an object")
        for name in ("id", "solution_source", "initial_solution", "solution_label", "prediction"):
            if name not in entry:
                raise DataError(f"{path}: entry {key!r}: field '{name}' missing")
        if entry["solution_label"] not in ("correct", "incorrect"):
            raise DataError(
                f"{path}: entry {key!r}: field 'solution_label' must be "
                f"correct/incorrect, got {entry['solution_label']!r}"
            )
        if entry["solution_label"] == "incorrect" and not entry.get("reference_feedback"):
            raise DataError(f"{path}: entry {key!r}: field 'reference_feedback' missing")
        item = known.get(key) or Item(
            key=key,
            id=str(entry["id"]),
            question=str(entry.get("question", "")),
            options=(),
            image=None,
            answer=str(entry.get("answer", "")),
            initial_solution=str(entry["initial_solution"]),
            label=entry["solution_label"],
            reference_feedback=entry.get("reference_feedback"),
            error_type=entry.get("error_type"),
            source=str(entry["solution_source"]),
        )
        items.append(item)
        prediction = entry.get("prediction")
        predictions[key] = "" if prediction is None else str(prediction)
    return items, predictions


async def score_submission(
    path: Path,
    out: Path,
    plugins: Plugins,
    *,
    overrides: list[str] | None = None,
    data_dir: str | None = None,
    sinks: Iterable[Sink] = (),
) -> RunOutcome:
    """Judge an official-format submission (e.g. from the official inference script)."""
    base: dict[str, Any] = {
        "name": f"submission-{path.stem}",
        "strategy": {"name": "single_pass"},
        "model": {"backend": "scripted", "name": "submission"},
    }
    if data_dir:
        base["data"] = {"dir": data_dir}
    config = build_config(base, check_judge_overrides(overrides or []), origin="--set")
    check_options(config, plugins, model=False)
    known: dict[str, Item] = {}
    prompts = None
    try:
        data = load_data(config, plugins)
        known, prompts = data.items, data.prompts
    except DataError:
        if config.judge.name == "mmrefine_official":
            raise
    items, predictions = submission_items(path, known)
    check_writable(out, "run")  # someone else's directory is refused before the lock file
    with RunLock(out, "judge"):
        claim(out, "run")
        run = RunDir(out)
        run.cut_unreadable_tails()
        rundir.write_text_atomic(run.file(rundir.CONFIG), config.to_yaml())
        return await _judge_submission(config, plugins, run, items, predictions, prompts, path,
                                       sinks)  # fmt: skip


async def _judge_submission(
    config: RunConfig,
    plugins: Plugins,
    run: RunDir,
    items: list[Item],
    predictions: dict[str, str],
    prompts: Any,
    path: Path,
    sinks: Iterable[Sink],
) -> RunOutcome:
    """Judge a submission's predictions into ``run`` (kept judgments of unchanged ones stay)."""
    previous = {r.key: r for r in run.results()}
    records = []
    for item in items:
        record = previous.get(item.key)
        prediction = predictions[item.key]
        if record is None or record.final is None or record.final.response != prediction:
            record = ItemResult(
                **item_fields(item),
                status="ok",
                strategy="submission",
                model=str(path),
                n_rounds=1,
                final=FinalOutput(response=prediction),
                rounds=[RoundSummary(round=1, response=prediction)],
            )
        records.append(record)
    by_key = {item.key: item for item in items}
    return await judge_records(
        config, plugins, run, by_key, records, prompts, expected=list(by_key), force=False,
        sinks=sinks,
    )  # fmt: skip
