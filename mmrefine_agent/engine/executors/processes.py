"""The local process executor: one run over this machine's cores (``run.processes``).

The driver refines items itself and ``processes - 1`` worker processes (proc_worker.py) refine
the others; items are handed out a few at a time to whoever has room, so a busy process takes
fewer. Every process serves its items through the same body (a ``ShardWorker``) and the same
limits (one :class:`LimitsServer` in the driver: ``run.concurrency`` and ``judge.concurrency``
hold over all processes together, ``run.max_cost_usd`` is one budget). The driver alone
writes the run files: an item's step and judge-call records are held until its result
arrives, then written before it, as in a one-process run.

``auto`` uses the cores (at most :data:`AUTO_MAX`) when there are at least
:data:`ITEMS_PER_PROCESS` items per process; otherwise, and when the run's backends are objects
passed by the caller or its plugins were registered in-process (nothing a worker could
rebuild), the run stays in one process (the local executor). A worker that cannot start
leaves its share to the others; one that dies mid-item has its items redone by the others
(once: an item whose second process dies too is reported lost and redone on resume).
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from mmrefine_agent.config import RunConfig
from mmrefine_agent.engine.cache import warn
from mmrefine_agent.engine.executors.base import ExecutorJob
from mmrefine_agent.engine.executors.local import LocalExecutor
from mmrefine_agent.engine.executors.proc_pool import Child, ProcessPool, WorkerGone
from mmrefine_agent.engine.executors.ray_driver import plugin_modules, worker_config
from mmrefine_agent.engine.executors.ray_pool import in_process_backends
from mmrefine_agent.engine.executors.ray_worker import SessionSpec, ShardReply, ShardWorker
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records.models import ItemResult, JudgeCallRecord, StepEvent, UsageBlock

AUTO_MAX = 8
"""``auto`` never starts more processes than this (each holds a session and its imports)."""
ITEMS_PER_PROCESS = 100
"""``auto``: fewer items than this per process do not repay a process's start-up."""

Unit = tuple[str, ItemResult | None]  # (item key, record to judge; None: refine)


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def not_shippable(config: RunConfig, plugins: Plugins | None, injected: list[str]) -> str | None:
    """Why a worker process could not rebuild this run's session (None: it can)."""
    if injected:
        return f"the {' and '.join(injected)} backend was passed as an object"
    if plugins is None:
        return None
    used = [
        (plugins.strategies, config.strategy.name),
        (plugins.backends, config.model.backend),
        (plugins.judges, config.judge.name),
        (plugins.backends, config.judge.backend),
    ]
    for registry, name in used:
        entry = registry.entries.get(name)
        if entry is not None and entry.origin.startswith("object "):
            return f"{registry.kind} '{name}' was registered in-process ({entry.origin})"
    return None


def processes_for(config: RunConfig, plugins: Plugins | None, units: int | None) -> int:
    """How many processes (the driver included) serve ``units`` items (None: not known yet)."""
    setting = config.run.processes
    if config.run.executor != "local" or sys.platform == "win32":
        return 1
    if setting == "auto":
        if plugins is not None and in_process_backends(config, plugins):
            return 1  # one copy of an in-process model (a number asks for more)
        count = min(cores(), AUTO_MAX)
        if units is not None:
            count = min(count, units // ITEMS_PER_PROCESS)
    else:
        count = setting
    return max(1, min(count, units if units is not None else count))


class ProcessExecutor:
    """Refines a job's items in this process and in worker processes (``run.processes``)."""

    name = "processes"

    def __init__(
        self, config: RunConfig, plugins: Plugins | None = None, *, prestart: bool = False
    ) -> None:
        self.pool: ProcessPool | None = None
        self.config, self.plugins = config, plugins
        if prestart and not_shippable(config, plugins, []) is None:
            # started now, their imports overlap the driver's loading of the data
            count = processes_for(config, plugins, config.data.limit) - 1
            if count > 0:
                self.pool = ProcessPool()
                self.pool.spawn(count)

    async def expect(self, items: int) -> None:
        """The run has ``items`` items: workers started early for a run too small end now."""
        if self.pool is not None and processes_for(self.config, self.plugins, items) <= 1:
            await self.aclose()

    async def execute(self, job: ExecutorJob) -> None:
        """Refine and judge the job's items over the driver and its worker processes."""
        units: list[Unit] = [(k, None) for k in job.todo] + [(r.key, r) for r in job.to_judge]
        count = processes_for(job.config, job.plugins, len(units))
        reason = not_shippable(job.config, job.plugins, job.injected) if count > 1 else None
        if reason is not None and job.config.run.processes != "auto":
            warn(f"run.processes={job.config.run.processes}: {reason}, which a worker process "
                 "cannot rebuild; running in one process")  # fmt: skip
        if count <= 1 or reason is not None:
            await self.aclose()
            await LocalExecutor().execute(job)
            return
        try:
            pool = self.pool = self.pool or ProcessPool()
            await pool.start(count - 1)
            for failure in pool.failed:
                warn(f"a worker process could not start ({failure}); its share runs here")
            await _Dispatch(job, pool, units).run()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """End the worker processes (started early, or by :meth:`execute`)."""
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.close()


class _LocalLimits:
    """The limits server as the driver's own ShardWorker calls it (no pipe in between)."""

    def __init__(self, pool: ProcessPool) -> None:
        self.sync = self
        self.server = pool.server

    def remote(self, *args: object) -> object:
        """``limits.sync.remote(...)``: the server's coroutine, awaited by the caller."""
        return self.server.sync(*args)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Held:
    """Records of items not finished yet (written with their item, dropped if it is lost)."""

    steps: dict[str, list[StepEvent]] = field(default_factory=dict)
    calls: dict[str, list[JudgeCallRecord]] = field(default_factory=dict)

    def keep(self, reply: ShardReply) -> None:
        for step in reply.steps:
            self.steps.setdefault(step.item_key, []).append(step)
        for call in reply.judge_calls:
            self.calls.setdefault(call.item_key, []).append(call)

    def take(self, key: str) -> tuple[list[StepEvent], list[JudgeCallRecord]]:
        return self.steps.pop(key, []), self.calls.pop(key, [])


@dataclass(eq=False, slots=True)
class _Holder:
    """Somewhere items run: the driver's own ShardWorker, or a worker process."""

    name: str
    quota: int
    child: Child | None = None
    load: int = 0
    usage: tuple[UsageBlock, UsageBlock] | None = None


class _Dispatch:
    """One job's items over the driver and the pool's workers."""

    def __init__(self, job: ExecutorJob, pool: ProcessPool, units: list[Unit]) -> None:
        self.job = job
        self.pool = pool
        self.queue = list(reversed(units))
        self.spec = SessionSpec(
            scope=job.scope,
            config=worker_config(job.config),
            prompts=job.prompts,
            plugin_modules=plugin_modules(job.plugins),
        )
        self.local = ShardWorker(_LocalLimits(pool), "driver", job.plugins)
        for child in pool.children:
            if not child.alive:
                warn(f"worker process pid {child.pid} could not start ({child.ended}); its "
                     "share runs here")  # fmt: skip
        workers = pool.live()
        share = max(1, -(-job.slots // (len(workers) + 1)))
        # the driver also writes every record: it takes half a share of items at a time
        self.holders = [_Holder("driver", max(1, share // 2))]
        self.opening = {pool.submit(c, "open", self.spec): _Holder(f"pid {c.pid}", share, c)
                        for c in workers}  # fmt: skip
        self.pending: dict[asyncio.Future[ShardReply], tuple[_Holder, Unit]] = {}
        self.held = _Held()
        self.redone: set[str] = set()

    async def run(self) -> None:
        spent = self.job.services.budget.spent  # earlier sessions' spend: one budget per run
        if spent:
            self.pool.server.add_spend(self.job.scope, spent)
        await self.local.open(self.spec)
        try:
            while True:
                self._fill()
                waits: set[asyncio.Future[Any]] = {*self.pending, *self.opening}
                if not self.pending and not (self.queue and self.opening):
                    break
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    if future in self.opening:
                        self._opened(future, self.opening.pop(future))
                    else:
                        self._answered(future)  # type: ignore[arg-type]
        finally:
            for future in [*self.pending, *self.opening]:  # cancelled (Ctrl-C): stop the rest
                future.cancel()
            await asyncio.gather(*self.pending, *self.opening, return_exceptions=True)
            await self.local.close(self.job.scope)

    def _opened(self, future: asyncio.Future[object], holder: _Holder) -> None:
        error = future.exception()
        if error is None:
            self.holders.append(holder)
        else:
            warn(f"worker process {holder.name} could not start ({error}); its share runs here")

    def _fill(self) -> None:
        if self.job.stopped():  # most items failing the same way: send no more
            return
        for holder in self.holders:
            if holder.child is not None and not holder.child.alive:
                continue
            while self.queue and holder.load < holder.quota:
                unit = self.queue.pop()
                self.pending[self._submit(holder, unit)] = (holder, unit)
                holder.load += 1

    def _submit(self, holder: _Holder, unit: Unit) -> asyncio.Future[ShardReply]:
        key, record = unit
        item, scope = self.job.items[key], self.job.scope
        if holder.child is None:
            work = (self.local.refine(scope, item) if record is None
                    else self.local.judge(scope, item, record))  # fmt: skip
            return asyncio.ensure_future(work)
        if record is None:
            return self.pool.submit(holder.child, "refine", scope, item)
        return self.pool.submit(holder.child, "judge", scope, item, record)

    def _answered(self, future: asyncio.Future[ShardReply]) -> None:
        holder, (key, record) = self.pending.pop(future)
        holder.load -= 1
        try:
            reply = future.result()
        except WorkerGone as exc:
            self._lost(holder, (key, record), str(exc))
            return
        except Exception as exc:
            if holder.child is None:
                raise  # the driver's own item: as in a one-process run
            self.job.report(f"{key}: lost: worker process {holder.name}: {exc}")
            self.held.take(key)
            return
        self.held.keep(reply)
        steps, calls = self.held.take(key)
        for step in steps:
            self.job.emit_step(step)
        for call in calls:
            self.job.emit_judge_call(call)
        holder.usage = (reply.refine, reply.judge)
        self._usage()
        self.job.finished(reply.result)

    def _lost(self, holder: _Holder, unit: Unit, how: str) -> None:
        key = unit[0]
        self.held.take(key)  # partial records of the lost attempt
        if holder.quota:
            holder.quota = 0
            warn(f"worker process {holder.name} ended mid-run ({how}); its items in flight "
                 "are redone by the other processes")  # fmt: skip
        if key in self.redone:
            self.job.report(f"{key}: lost: worker process died mid-item (redone on resume)")
            return
        self.redone.add(key)
        self.queue.append(unit)

    def _usage(self) -> None:
        services = self.job.services
        for index, totals in enumerate((services.refine_totals, services.judge_totals)):
            blocks = [h.usage[index] for h in self.holders if h.usage is not None]
            totals.calls = sum(b.calls for b in blocks)
            totals.cache_hits = sum(b.cache_hits for b in blocks)
            totals.failures = sum(b.failures for b in blocks)
            totals.retries = sum(b.retries for b in blocks)
            totals.input_tokens = sum(b.input_tokens for b in blocks)
            totals.output_tokens = sum(b.output_tokens for b in blocks)
            totals.cost_usd = sum(b.cost_usd for b in blocks)
