"""Re-judge a run directory, or score an official-format submission, with no refinement calls."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from mmrefine_agent.config import RunConfig, build_config, load_config_dict
from mmrefine_agent.engine.client import Budget
from mmrefine_agent.engine.runner import Runner, RunOutcome, finish_run, load_run_items, open_cache
from mmrefine_agent.engine.usage import RunUsage
from mmrefine_agent.errors import DataError, RunDirError
from mmrefine_agent.judging.item_judging import judge_record, needs_judging
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records import rundir
from mmrefine_agent.records.results import RESULT_VERSION, item_fields
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.types import Item


async def _judge_records(
    runner: Runner,
    run: RunDir,
    items: dict[str, Item],
    records: list[dict[str, Any]],
    prompts: Any,
    *,
    force: bool,
) -> None:
    config = runner.config
    cache = open_cache(config)
    ledger = rundir.JsonlAppender(run.file(rundir.JUDGMENTS))
    judge = runner.make_judge(prompts, cache, Budget(config.run.max_cost_usd), ledger)
    if judge is None:
        raise RunDirError("judge.name is 'none': nothing to judge with")
    slots = asyncio.Semaphore(max(4, config.judge.concurrency * 2))

    async def one(record: dict[str, Any]) -> None:
        if record["key"] not in items:
            return
        if not needs_judging(record, judge.name, config.judge.per_round, force=force):
            return
        if force:
            record["round_judgments"] = []
        async with slots:
            await judge_record(
                judge, items[record["key"]], record, per_round=config.judge.per_round
            )

    try:
        await asyncio.gather(*(one(r) for r in records))
    finally:
        ledger.close()
        if cache is not None:
            cache.close()
        if judge.env.client is not None:
            await judge.env.client.backend.aclose()
    rundir.rewrite_jsonl(run.file(rundir.RESULTS), records)


def finish_session(
    runner: Runner, run: RunDir, items: dict[str, Item], plugins: Plugins, started: float
) -> RunOutcome:
    """Add this judging session to usage.json, then write scores and submission."""
    usage = RunUsage(run.file(rundir.USAGE), runner.refine_totals, runner.judge_totals).write()
    outcome = finish_run(run, items, plugins, usage, started)
    outcome.usage = runner.usage()
    return outcome


async def rejudge_run(
    path: Path, plugins: Plugins, *, overrides: list[str] | None = None, force: bool = False
) -> RunOutcome:
    """Judge the items of a run whose judgment is missing, failed or from another judge."""
    started = time.perf_counter()
    run = RunDir(path).require()
    raw = load_config_dict(run.file(rundir.CONFIG))
    config = build_config(raw, overrides or [], origin=str(run.file(rundir.CONFIG)))
    _data_dir, loaded, prompts = load_run_items(config)
    items = {item.key: item for item in loaded.items}
    records = run.results()
    runner = Runner(config, plugins, path)
    await _judge_records(runner, run, items, records, prompts, force=force)
    run.file(rundir.CONFIG).write_text(config.to_yaml(), encoding="utf-8")
    return finish_session(runner, run, items, plugins, started)


def submission_items(path: Path, known: dict[str, Item]) -> tuple[list[Item], dict[str, str]]:
    """Items and predictions from an official submission file (errors name the entry)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
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
) -> RunOutcome:
    """Judge an official-format submission (e.g. from the official inference script)."""
    started = time.perf_counter()
    base: dict[str, Any] = {
        "name": f"submission-{path.stem}",
        "strategy": {"name": "single_pass"},
        "model": {"backend": "scripted", "name": "submission"},
    }
    if data_dir:
        base["data"] = {"dir": data_dir}
    config: RunConfig = build_config(base, overrides or [], origin="--set")
    known: dict[str, Item] = {}
    prompts = None
    try:
        _dir, loaded, prompts = load_run_items(config)
        known = {item.key: item for item in loaded.items}
    except DataError:
        if config.judge.name == "mmrefine_official":
            raise
    items, predictions = submission_items(path, known)
    out.mkdir(parents=True, exist_ok=True)
    run = RunDir(out)
    run.file(rundir.CONFIG).write_text(config.to_yaml(), encoding="utf-8")
    previous = {r["key"]: r for r in run.results()}
    records = []
    for item in items:
        record = previous.get(item.key)
        if record is None or (record.get("final") or {}).get("response") != predictions[item.key]:
            record = {
                "version": RESULT_VERSION,
                **item_fields(item),
                "status": "ok",
                "error": None,
                "strategy": "submission",
                "model": str(path),
                "n_rounds": 1,
                "final": {"response": predictions[item.key]},
                "rounds": [{"round": 1, "response": predictions[item.key]}],
                "judgment": None,
                "round_judgments": [],
                "usage": {},
            }
        records.append(record)
    runner = Runner(config, plugins, out)
    by_key = {item.key: item for item in items}
    await _judge_records(runner, run, by_key, records, prompts, force=False)
    return finish_session(runner, run, by_key, plugins, started)
