"""Run a strategy over the benchmark: refine every item through the graph, judge, persist.

Results are written as each item completes. Running again into the same directory resumes:
finished items are kept, unfinished or failed ones are redone, and items whose refinement
finished but whose judgment is missing or failed are only re-judged.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrefine_agent.analysis.metrics import compute_scores
from mmrefine_agent.config import ModelConfig, RunConfig
from mmrefine_agent.data.datadir import PROMPTS_NAME, resolve_data_dir
from mmrefine_agent.data.mmrefine import LoadedData, load_items
from mmrefine_agent.data.prompts import OfficialPrompts, load_official_prompts
from mmrefine_agent.engine.backend import ModelBackend
from mmrefine_agent.engine.cache import CallCache
from mmrefine_agent.engine.client import Budget, ClientSettings, ModelClient, UsageTotals
from mmrefine_agent.engine.usage import RunUsage, by_node, item_usage
from mmrefine_agent.engine.workers import merge_shards, run_workers
from mmrefine_agent.errors import ModelCallError, RunDirError
from mmrefine_agent.graph.builder import compile_graph
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.strategy import Strategy
from mmrefine_agent.judging.base import Judge, JudgeEnv
from mmrefine_agent.judging.item_judging import judge_record, needs_judging
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records import rundir
from mmrefine_agent.records.results import error_result, item_fields, ok_result, submission_entry
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.records.steps import StepRecord
from mmrefine_agent.types import Item

ProgressHook = Callable[[str, dict[str, Any]], None]


AUTO_WORKERS_MIN_ITEMS = 200  # below this, a worker's start-up (imports) is not repaid


@dataclass(slots=True)
class RunOutcome:
    """What a finished run produced."""

    run_dir: Path
    scores: dict[str, Any] | None
    usage: dict[str, Any]
    n_items: int
    n_done: int
    n_errors: int
    elapsed_s: float
    errors: list[str] = field(default_factory=list)


def judge_model_config(config: RunConfig) -> ModelConfig:
    """The judge's model settings as a ModelConfig (same backends, same call path)."""
    judge = config.judge
    return ModelConfig(
        backend=judge.backend,
        name=judge.model,
        api_base=judge.api_base,
        api_key_env=judge.api_key_env,
        params=dict(judge.params),
        timeout_s=judge.timeout_s,
        endpoints=list(judge.endpoints),
        options=dict(judge.options),
    )


def open_cache(config: RunConfig) -> CallCache | None:
    """The shared call cache for a run (None when ``run.cache`` is off)."""
    if not config.run.cache:
        return None
    return CallCache(Path(config.run.cache_dir) if config.run.cache_dir else None)


def load_run_items(config: RunConfig) -> tuple[Path, LoadedData, OfficialPrompts | None]:
    """Resolve the data directory, load the configured slice and the official prompts."""
    data_dir = resolve_data_dir(config.data.dir)
    filters = config.data.filter.model_dump(exclude_none=True)
    loaded = load_items(
        data_dir,
        filters=filters,
        limit=config.data.limit,
        balanced=config.data.balanced,
        parquet=Path(config.data.parquet) if config.data.parquet else None,
    )
    prompts = load_official_prompts(data_dir) if (data_dir / PROMPTS_NAME).is_file() else None
    return data_dir, loaded, prompts


def prepare_run_dir(path: Path, config: RunConfig, *, restart: bool) -> RunDir:
    """Create (or reopen, for resume) a run directory; refuse a different config."""
    path.mkdir(parents=True, exist_ok=True)
    run = RunDir(path)
    config_path = run.file(rundir.CONFIG)
    fingerprint_path = run.file("fingerprint.json")
    fingerprint = config.fingerprint_dict()
    if restart:
        for name in (
            rundir.STEPS,
            rundir.RESULTS,
            rundir.JUDGMENTS,
            rundir.SCORES,
            rundir.SUBMISSION,
            rundir.USAGE,
        ):
            run.file(name).unlink(missing_ok=True)
    elif fingerprint_path.is_file():
        previous = json.loads(fingerprint_path.read_text(encoding="utf-8"))
        if previous != fingerprint:
            changed = sorted(_diff_keys(previous, fingerprint))
            raise RunDirError(
                f"{path} holds a run with a different config (changed: {', '.join(changed)}); "
                "use another --out, or --restart to start over"
            )
    config_path.write_text(config.to_yaml(), encoding="utf-8")
    rundir.write_json_atomic(fingerprint_path, fingerprint)
    return run


def _diff_keys(a: Any, b: Any, prefix: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in set(a) | set(b):
            out |= _diff_keys(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return set() if a == b else {prefix.rstrip(".")}


class Runner:
    """One run: config + plugins -> run directory."""

    def __init__(
        self,
        config: RunConfig,
        plugins: Plugins,
        out: Path,
        *,
        restart: bool = False,
        backend: ModelBackend | None = None,
        judge_backend: ModelBackend | None = None,
        on_event: ProgressHook | None = None,
    ) -> None:
        self.config = config
        self.plugins = plugins
        self.out = out
        self.restart = restart
        self._backend = backend
        self._judge_backend = judge_backend
        self.on_event = on_event or (lambda _kind, _data: None)
        self.refine_totals = UsageTotals()
        self.judge_totals = UsageTotals()

    def _make_backend(self, model: ModelConfig) -> ModelBackend:
        backend_cls = self.plugins.backends.get(model.backend)
        backend: ModelBackend = backend_cls(model)
        return backend

    def make_judge(
        self,
        prompts: OfficialPrompts | None,
        cache: CallCache | None,
        budget: Budget,
        ledger: rundir.JsonlAppender,
    ) -> Judge | None:
        """The configured judge, its model client sharing ``cache``/``budget`` (None: no judge)."""
        name = self.config.judge.name
        if name in ("none", ""):
            return None
        judge_cls = self.plugins.judges.get(name)
        client = None
        if judge_cls.needs_model:
            backend = self._judge_backend or self._make_backend(judge_model_config(self.config))
            settings = ClientSettings(
                timeout_s=self.config.judge.timeout_s,
                retries=self.config.run.retries,
                backoff_s=self.config.run.backoff_s,
                params=dict(self.config.judge.params),
            )
            client = ModelClient(
                backend,
                limiter=asyncio.Semaphore(self.config.judge.concurrency),
                settings=settings,
                cache=cache,
                budget=budget,
                totals=self.judge_totals,
            )

        def record(entry: dict[str, Any]) -> None:
            ledger.write(entry)
            self.plugins.hook.mmrefine_observe_judgment(record=entry)

        judge: Judge = judge_cls(name, self.config.judge, JudgeEnv(prompts, client, record))
        return judge

    async def run(self) -> RunOutcome:
        """Refine, judge and score every configured item; returns the outcome."""
        started = time.perf_counter()
        config = self.config
        _data_dir, loaded, prompts = load_run_items(config)
        run = prepare_run_dir(self.out, config, restart=self.restart)
        items = {item.key: item for item in loaded.items}
        strategy_cls = self.plugins.strategies.get(config.strategy.name)
        strategy: Strategy = strategy_cls(config.strategy)
        cache = open_cache(config)
        budget = Budget(config.run.max_cost_usd)

        # records of worker processes that a killed run left behind are the run's, too
        recovered = merge_shards(run.path)
        previous = {r["key"]: r for r in run.results()}
        keep = {k: r for k, r in previous.items() if r.get("status") == "ok" and k in items}
        rundir.rewrite_jsonl(run.file(rundir.RESULTS), list(keep.values()))
        steps_kept = [s for s in run.steps() if s.get("item_key") in keep]
        rundir.rewrite_jsonl(run.file(rundir.STEPS), steps_kept)

        steps_out = rundir.JsonlAppender(run.file(rundir.STEPS))
        results_out = rundir.JsonlAppender(run.file(rundir.RESULTS))
        ledger = rundir.JsonlAppender(run.file(rundir.JUDGMENTS))
        ledger_usage = RunUsage(run.file(rundir.USAGE), self.refine_totals, self.judge_totals)
        for usage in recovered:  # the accounting of an interrupted session's workers
            ledger_usage.earlier.append(
                {"recovered_from_workers": True, "refine": usage.get("refine") or {},
                 "judge": usage.get("judge") or {}}
            )  # fmt: skip
        backend = self._backend or self._make_backend(config.model)
        settings = ClientSettings(
            timeout_s=config.model.timeout_s,
            retries=config.run.retries,
            backoff_s=config.run.backoff_s,
            params=dict(config.model.params),
        )
        client = ModelClient(
            backend,
            limiter=asyncio.Semaphore(config.run.concurrency),
            settings=settings,
            cache=cache,
            budget=budget,
            totals=self.refine_totals,
        )
        judge = self.make_judge(prompts, cache, budget, ledger)
        graph = compile_graph(strategy)
        model_name = f"{config.model.backend}:{config.model.name}"
        errors: list[str] = []

        def emit_step(step: StepRecord) -> None:
            steps_out.write(step.to_json())
            self.plugins.hook.mmrefine_observe_step(step=step)

        for problem in loaded.problems:
            record = error_result(
                {
                    "key": problem.key,
                    "id": problem.key.split("_")[0],
                    "row": problem.row,
                    "field": problem.field,
                },
                "data_error",
                str(problem),
                strategy=strategy.name,
                model=model_name,
            )
            results_out.write(record)
            errors.append(str(problem))

        todo = [item for key, item in items.items() if key not in keep]
        rejudge = [
            keep[k]
            for k in keep
            if judge is not None
            and needs_judging(keep[k], judge.name, config.judge.per_round, force=False)
        ]
        self.on_event(
            "start",
            {
                "total": len(items),
                "todo": len(todo) + len(rejudge),
                "done": len(items) - len(todo) - len(rejudge),
            },
        )
        item_slots = asyncio.Semaphore(max(4, config.run.concurrency * 2))
        recursion_limit = 4 * strategy.max_rounds + 10

        async def refine(item: Item) -> None:
            async with item_slots:
                item_started = time.perf_counter()
                own_steps: list[StepRecord] = []

                def emit_own(step: StepRecord) -> None:
                    own_steps.append(step)
                    emit_step(step)

                context = GraphContext(
                    item=item, client=client, prompts=prompts, emit_step=emit_own
                )
                try:
                    state = await graph.ainvoke(
                        strategy.initial_state(item),
                        context=context,
                        config={"recursion_limit": recursion_limit},
                    )
                except ModelCallError as exc:
                    record = error_result(
                        item_fields(item),
                        "error",
                        str(exc),
                        strategy=strategy.name,
                        model=model_name,
                    )
                    results_out.write(record)
                    errors.append(f"{item.key}: {exc}")
                    self.on_event("item", {"key": item.key, "status": "error"})
                    ledger_usage.write()
                    return
                usage = item_usage(own_steps)
                record = ok_result(
                    item,
                    list(state.get("rounds", [])),
                    strategy=strategy.name,
                    model=model_name,
                    usage=usage,
                    elapsed_s=time.perf_counter() - item_started,
                    image_not_seen=item.image is not None and not backend.sees_images,
                )
                if judge is not None:
                    await judge_record(judge, item, record, per_round=config.judge.per_round)
                results_out.write(record)
                ledger_usage.write()
                self.on_event("item", {"key": item.key, "status": "ok"})

        async def rejudge_one(record: dict[str, Any]) -> None:
            assert judge is not None
            async with item_slots:
                await judge_record(
                    judge, items[record["key"]], record, per_round=config.judge.per_round
                )
                results_out.write(record)
                ledger_usage.write()
                self.on_event("item", {"key": record["key"], "status": "ok"})

        n_workers = self.worker_count(len(todo))
        if n_workers > 1:
            usages, problems = await run_workers(
                run.path,
                config,
                todo,
                n_workers,
                plugin_modules=self.plugins.modules,
                on_event=self.on_event,
            )
            for usage in usages:
                for purpose, totals in (
                    ("refine", self.refine_totals),
                    ("judge", self.judge_totals),
                ):
                    totals.absorb(usage.get(purpose) or {})
            finished = {r.get("key") for r in run.results()}
            for item in todo:  # a worker that died leaves its unfinished items as errors
                if item.key not in finished:
                    message = "; ".join(problems) or "worker ended without this item"
                    results_out.write(
                        error_result(
                            item_fields(item), "error", message,
                            strategy=strategy.name, model=model_name,
                        )
                    )  # fmt: skip
                    errors.append(f"{item.key}: {message}")
            todo = []
        try:
            await asyncio.gather(*(refine(i) for i in todo), *(rejudge_one(r) for r in rejudge))
        finally:
            steps_out.close()
            results_out.close()
            ledger.close()
            await backend.aclose()
            if judge is not None and judge.env.client is not None:
                await judge.env.client.backend.aclose()
            if cache is not None:
                cache.close()
        run_usage = ledger_usage.write()
        outcome = finish_run(run, items, self.plugins, run_usage, started)
        outcome.usage = self.usage()  # what this session did (usage.json has the run totals)
        outcome.errors = errors
        return outcome

    def worker_count(self, n_todo: int) -> int:
        """How many worker processes to use for ``n_todo`` items (1: this process alone)."""
        run, config = self.config.run, self.config
        if n_todo < 2 or self._backend is not None or self._judge_backend is not None:
            return 1  # objects handed to this process cannot cross into others
        used = [
            self.plugins.backends.entries.get(config.model.backend),
            self.plugins.strategies.entries.get(config.strategy.name),
            self.plugins.judges.entries.get(config.judge.name),
        ]
        if any(e is not None and e.origin.startswith("object ") for e in used):
            return 1
        if run.workers != "auto":
            return min(int(run.workers), n_todo)
        backend = used[0]
        if backend is None or getattr(backend.component, "serialised", False):
            return 1  # one in-process model: more processes would load more copies
        judge = used[2]
        judged_via = (
            config.judge.backend
            if judge is not None and getattr(judge.component, "needs_model", False)
            else None
        )
        if n_todo < AUTO_WORKERS_MIN_ITEMS or "litellm" not in (config.model.backend, judged_via):
            return 1
        return max(1, min(os.cpu_count() or 1, 4))

    def usage(self) -> dict[str, Any]:
        """Calls, tokens and cost so far, for refinement and judging."""
        return {"refine": self.refine_totals.as_dict(), "judge": self.judge_totals.as_dict()}


def finish_run(
    run: RunDir, items: dict[str, Item], plugins: Plugins, usage: dict[str, Any], started: float
) -> RunOutcome:
    """Write scores.json and submission.json from results.jsonl (``usage``: the run totals)."""
    results = run.results()
    ok = [r for r in results if r.get("status") == "ok"]
    scores = compute_scores(results) if any(r.get("judgment") for r in ok) else None
    scores_payload = (
        scores
        if scores is not None
        else {"version": 1, "judge": None, "note": "not judged (judge.name: none)"}
    )
    if scores is not None:
        scores["usage"] = usage
        scores["usage_by_node"] = by_node(run.steps())
    rundir.write_json_atomic(run.file(rundir.SCORES), scores_payload)
    submission = {
        r["key"]: submission_entry(
            items[r["key"]], (r.get("final") or {}).get("response") or "", r.get("judgment")
        )
        for r in ok
        if r["key"] in items
    }
    rundir.write_json_atomic(run.file(rundir.SUBMISSION), submission)
    plugins.hook.mmrefine_run_finished(run_dir=str(run.path), scores=scores_payload)
    return RunOutcome(
        run_dir=run.path,
        scores=scores,
        usage=usage,
        n_items=len(items),
        n_done=len(ok),
        n_errors=len(results) - len(ok),
        elapsed_s=time.perf_counter() - started,
    )
