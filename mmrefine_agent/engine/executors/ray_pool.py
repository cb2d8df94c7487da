"""The Ray side of the driver: joining or starting Ray, the workers and the limits actor.

Workers are placed per machine: ``run.ray_workers_per_node`` of them on every alive node
with CPUs (``auto``: one per core; one when the model or the judge runs in-process, e.g.
llama.cpp, so a machine never loads the model twice unless a number asks for it). Every
worker and the limits actor belong to the driver's Ray job: when the driver ends, even by
SIGKILL, Ray ends them, so nothing keeps calling the model server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from mmrefine_agent.config import RunConfig
from mmrefine_agent.engine.executors.limits import LimitsServer
from mmrefine_agent.engine.executors.ray_worker import SessionSpec, ShardWorker
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.plugins_manager import Plugins


def import_ray() -> Any:
    """Ray, or a one-line error naming the extra that installs it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("run.executor=ray needs Ray: pip install 'mmrefine-agent[ray]'") from exc
    return ray


def in_process_backends(config: RunConfig, plugins: Plugins) -> list[str]:
    """The run's backends that hold their model in the process (``serialised`` ones)."""
    names = [config.model.backend]
    judge = plugins.judges.entries.get(config.judge.name)
    if judge is not None and getattr(judge.component, "needs_model", False):
        names.append(config.judge.backend)
    found = []
    for name in names:
        entry = plugins.backends.entries.get(name)
        if entry is not None and getattr(entry.component, "serialised", False):
            found.append(name)
    return found


@dataclass(slots=True)
class Worker:
    """One worker actor, its id in the limits and how many items it has in flight."""

    handle: Any
    holder: str
    node_id: str
    num_cpus: float
    alive: bool = True
    replacement: Worker | None = None


@dataclass(slots=True)
class RayPool:
    """Ray workers and the shared limits of one run, or of a whole sweep."""

    ray: Any = None
    limits: Any = None
    workers: list[Worker] = field(default_factory=list)
    started_ray: bool = False
    startup_s: float = 0.0
    specs: dict[str, SessionSpec] = field(default_factory=dict)
    replaced: int = 0
    _lock: asyncio.Lock | None = None

    def start(self, config: RunConfig, plugins: Plugins, *, at_most: int | None = None) -> None:
        """Join (or start) Ray and start the workers and the limits actor."""
        if self.ray is not None:
            return
        began = time.perf_counter()
        ray = import_ray()
        self.ray = ray
        if not ray.is_initialized():
            address = config.run.ray_address or os.environ.get("RAY_ADDRESS") or None
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": True,
                "logging_level": "warning",
            }
            if address is None:
                options["object_store_memory"] = 256 * 1024 * 1024
            ray.init(address=address, **options)
            self.started_ray = True
        self.limits = ray.remote(LimitsServer).options(num_cpus=0, max_concurrency=100_000).remote()
        per_node = config.run.ray_workers_per_node
        single = per_node == "auto" and bool(in_process_backends(config, plugins))
        places: list[tuple[str, float]] = []
        for node in ray.nodes():
            cpus = float(node.get("Resources", {}).get("CPU", 0))
            if not node.get("Alive") or cpus <= 0:
                continue
            count = 1 if single else (max(1, int(cpus)) if per_node == "auto" else int(per_node))
            places += [(node["NodeID"], cpus / count)] * count
        if not places:
            raise ConfigError("run.executor=ray: the Ray cluster has no alive node with CPUs")
        if at_most is not None:
            places = _spread(places, max(1, at_most))
        self.workers = [self._worker(node, cpus) for node, cpus in places]
        ray.get([w.handle.where.remote() for w in self.workers])  # every worker is up
        self.startup_s = time.perf_counter() - began

    def _worker(self, node_id: str, num_cpus: float) -> Worker:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        holder = uuid.uuid4().hex[:12]
        handle = (
            self.ray.remote(ShardWorker)
            .options(
                num_cpus=num_cpus,
                max_concurrency=10_000,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            )
            .remote(self.limits, holder)
        )
        return Worker(handle=handle, holder=holder, node_id=node_id, num_cpus=num_cpus)

    def live(self) -> list[Worker]:
        """The workers still alive."""
        return [w for w in self.workers if w.alive]

    async def open(self, spec: SessionSpec) -> None:
        """Give every live worker a run's session."""
        self.specs[spec.scope] = spec
        await asyncio.gather(*(_wait(w.handle.open.remote(spec)) for w in self.live()))

    async def close_session(self, scope: str) -> None:
        """Close a run's session on every live worker (a dead one needs nothing)."""
        self.specs.pop(scope, None)
        for worker in self.live():
            try:
                await _wait(worker.handle.close.remote(scope))
            except Exception:  # a worker that died meanwhile has nothing left to close
                worker.alive = False

    async def lost(self, worker: Worker) -> Worker | None:
        """A worker died: return its permits; start one replacement (at most one per worker)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not worker.alive:
                return worker.replacement
            worker.alive = False
            await _wait(self.limits.forget.remote(worker.holder))
            if self.replaced >= len(self.workers) - self.replaced:
                return None
            self.replaced += 1
            fresh = self._worker(worker.node_id, worker.num_cpus)
            try:
                for spec in self.specs.values():
                    await _wait(fresh.handle.open.remote(spec))
            except Exception:  # the node itself is gone
                return None
            self.workers.append(fresh)
            worker.replacement = fresh
            return fresh

    def close(self) -> None:
        """End the workers (and Ray, if this pool started it)."""
        if self.ray is None:
            return
        for handle in [*(w.handle for w in self.workers), self.limits]:
            if handle is not None:
                with contextlib.suppress(Exception):  # already gone
                    self.ray.kill(handle)
        if self.started_ray:
            self.ray.shutdown()
        self.ray = None


def _spread(places: list[tuple[str, float]], count: int) -> list[tuple[str, float]]:
    """``count`` places taken round-robin over the nodes (a small run needs few workers)."""
    by_node: dict[str, list[tuple[str, float]]] = {}
    for place in places:
        by_node.setdefault(place[0], []).append(place)
    out: list[tuple[str, float]] = []
    while len(out) < min(count, len(places)):
        for group in by_node.values():
            if group and len(out) < count:
                out.append(group.pop())
    return out


async def _wait(ref: Any) -> Any:
    """Await a Ray ObjectRef from asyncio."""
    return await asyncio.wrap_future(ref.future())
