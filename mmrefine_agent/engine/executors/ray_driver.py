"""The Ray executor: items run in Ray workers; the driver streams them back and writes.

The driver sends items to the workers, a few at a time per worker (``job.slots`` items in
flight over all of them), and handles each reply as it arrives: the step and judge-call
records, then the item's result, go through the same callbacks (run files, observer hooks,
progress) as in a local run, so results.jsonl grows as items finish. A worker that dies loses
only the items it had in flight: they are reported, left out of results.jsonl (a resume redoes
them) and the rest of its share goes to the other workers (and one replacement).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from mmrefine_agent.config import RunConfig
from mmrefine_agent.engine.client import UsageTotals
from mmrefine_agent.engine.executors.base import ExecutorJob
from mmrefine_agent.engine.executors.ray_pool import RayPool, Worker, _wait, import_ray
from mmrefine_agent.engine.executors.ray_worker import SessionSpec, ShardReply
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records.models import ItemResult, UsageBlock

Unit = tuple[str, ItemResult | None]  # (item key, record to judge; None: refine)


def plugin_modules(plugins: Plugins) -> list[str]:
    """The extra plugin modules a worker loads (``.py`` paths made absolute)."""
    named = [m.strip() for m in os.environ.get("MMREFINE_PLUGINS", "").split(",") if m.strip()]
    modules = []
    for module in [*named, *plugins.modules]:
        if module.endswith(".py") or "/" in module:
            module = str(Path(module).resolve())
        if module not in modules:
            modules.append(module)
    return modules


def check_shippable(job: ExecutorJob) -> None:
    """Refuse what a worker cannot rebuild: backend objects and in-process plugin objects."""
    if job.injected:
        raise ConfigError(
            f"run.executor=ray builds backends in its workers from the config; the "
            f"{' and '.join(job.injected)} backend passed as an object cannot be sent "
            "(register it in a plugin module, or use run.executor=local)"
        )
    config, plugins = job.config, job.plugins
    used = [
        (plugins.strategies, config.strategy.name),
        (plugins.backends, config.model.backend),
        (plugins.judges, config.judge.name),
        (plugins.backends, config.judge.backend),
    ]
    for registry, name in used:
        entry = registry.entries.get(name)
        if entry is not None and entry.origin.startswith("object "):
            raise ConfigError(
                f"run.executor=ray: {registry.kind} '{name}' was registered in-process "
                f"({entry.origin}); workers load plugins from modules: give it with --plugin "
                "or MMREFINE_PLUGINS, or use run.executor=local"
            )


def worker_config(config: RunConfig) -> RunConfig:
    """The config a worker builds its session from: the driver's cache directory, resolved."""
    if not config.run.cache or config.run.cache_dir:
        return config
    from mmrefine_agent.engine.cache import default_cache_dir

    update = {"cache_dir": str(default_cache_dir())}
    return config.model_copy(update={"run": config.run.model_copy(update=update)})


@dataclass(slots=True)
class _Usage:
    """The latest usage snapshot of each worker for one session."""

    refine: dict[str, UsageBlock] = field(default_factory=dict)
    judge: dict[str, UsageBlock] = field(default_factory=dict)

    def add(self, holder: str, reply: ShardReply, job: ExecutorJob) -> None:
        self.refine[holder] = reply.refine
        self.judge[holder] = reply.judge
        _set_totals(job.services.refine_totals, self.refine.values())
        _set_totals(job.services.judge_totals, self.judge.values())


def _set_totals(totals: UsageTotals, blocks: object) -> None:
    fresh = UsageTotals()
    for block in blocks:  # type: ignore[attr-defined]
        fresh.absorb(block)
    for name in ("calls", "cache_hits", "failures", "retries", "input_tokens", "output_tokens"):
        setattr(totals, name, getattr(fresh, name))
    totals.cost_usd = fresh.cost_usd


class RayExecutor:
    """Runs a job's items in Ray workers (its own pool, or a sweep's shared one)."""

    name = "ray"

    def __init__(self, config: RunConfig, pool: RayPool | None = None) -> None:
        import_ray()  # a missing extra is one line, before the run directory is touched
        self.pool = pool

    async def execute(self, job: ExecutorJob) -> None:
        """Send the job's items to the workers; handle each reply as it arrives."""
        check_shippable(job)
        units: list[Unit] = [(k, None) for k in job.todo] + [(r.key, r) for r in job.to_judge]
        if not units:
            return
        pool, own = (self.pool, False) if self.pool is not None else (RayPool(), True)
        try:
            pool.start(job.config, job.plugins, at_most=len(units) if own else None)
            spec = SessionSpec(
                scope=job.scope,
                config=worker_config(job.config),
                prompts=job.prompts,
                plugin_modules=plugin_modules(job.plugins),
            )
            await pool.open(spec)
            spent = job.services.budget.spent  # earlier sessions' spend: one budget per run
            if spent:
                await _wait(pool.limits.add_spend.remote(job.scope, spent))
            try:
                await _Dispatch(job, pool, units).run()
            finally:
                await pool.close_session(job.scope)
        finally:
            if own:
                pool.close()


class _Dispatch:
    """One session's items over the pool's workers."""

    def __init__(self, job: ExecutorJob, pool: RayPool, units: list[Unit]) -> None:
        self.job = job
        self.pool = pool
        self.queue = list(reversed(units))
        self.load: dict[str, int] = {}
        self.pending: dict[asyncio.Future[ShardReply], tuple[Worker, Unit]] = {}
        self.usage = _Usage()

    def _fill(self) -> None:
        live = self.pool.live()
        if not live or self.job.stopped():
            return
        per_worker = max(1, -(-self.job.slots // len(live)))
        for worker in live:
            while self.queue and self.load.get(worker.holder, 0) < per_worker:
                key, record = unit = self.queue.pop()
                item = self.job.items[key]
                scope = self.job.scope
                ref = (
                    worker.handle.refine.remote(scope, item)
                    if record is None
                    else worker.handle.judge.remote(scope, item, record)
                )
                future: asyncio.Future[ShardReply] = asyncio.ensure_future(_wait(ref))
                self.pending[future] = (worker, unit)
                self.load[worker.holder] = self.load.get(worker.holder, 0) + 1

    async def run(self) -> None:
        ray = self.pool.ray
        try:
            while True:
                self._fill()
                if not self.pending:
                    break
                done, _ = await asyncio.wait(self.pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    worker, (key, _record) = self.pending.pop(future)
                    self.load[worker.holder] -= 1
                    try:
                        reply = future.result()
                    except ray.exceptions.RayActorError as exc:
                        await self._lost(worker, key, exc)
                        continue
                    except ray.exceptions.RayError as exc:
                        self.job.report(f"{key}: lost: {type(exc).__name__}: {_first_line(exc)}")
                        continue
                    self._handle(worker, reply)
        finally:
            for future in self.pending:  # cancelled (Ctrl-C): stop what the workers do
                future.cancel()
            if self.pending:
                for worker, _unit in set(self.pending.values()):
                    if worker.alive:
                        ray.kill(worker.handle)
                        worker.alive = False

    def _handle(self, worker: Worker, reply: ShardReply) -> None:
        for step in reply.steps:
            self.job.emit_step(step)
        for call in reply.judge_calls:
            self.job.emit_judge_call(call)
        self.usage.add(worker.holder, reply, self.job)
        self.job.finished(reply.result)

    async def _lost(self, worker: Worker, key: str, exc: BaseException) -> None:
        was_alive = worker.alive
        await self.pool.lost(worker)
        if was_alive:
            self.job.report(
                f"worker {worker.holder}: lost: the worker process died ({_first_line(exc)}); "
                "its items in flight are redone on resume"
            )
        self.job.report(f"{key}: lost: worker process died mid-item (redone on resume)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
