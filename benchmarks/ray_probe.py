"""Ray start-up and the per-call cost of the shared limits, each measured in a fresh process.

Prints one JSON object: ``init_s`` (``ray.init`` of a local cluster plus every worker up),
``open_s`` (every worker builds a paper-protocol session: plugins, strategy, clients),
``limit_call_ms`` (how long a call waits for a permit it must lease from the limits actor:
the worst case, one call at a time) and ``limit_calls_per_s`` (64 callers at once through a
worker's leased permits, the busy case). Used by ``benchmarks/scale.py``.

    python benchmarks/ray_probe.py
"""

from __future__ import annotations

import asyncio
import json
import time

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.executors.limits import SharedLimits
from mmrefine_agent.engine.executors.ray_pool import RayPool
from mmrefine_agent.engine.executors.ray_worker import SessionSpec
from mmrefine_agent.plugins_manager import load_plugins


async def limit_costs(limits: SharedLimits, sequential: int, callers: int) -> tuple[float, float]:
    """(ms per call with no permit leased, one call at a time: a lease and a return each;
    calls per second through the slot with ``callers`` at once, permits reused locally)."""
    slot = limits.limiter("refine", 64)
    waited = 0.0
    for _ in range(sequential):
        started = time.perf_counter()
        async with slot:
            waited += time.perf_counter() - started
        await asyncio.sleep(0.002)  # let the return reach the actor: the next call leases anew
    per_call_ms = 1000 * waited / sequential

    busy = limits.limiter("judge", 64)

    async def caller() -> None:
        for _ in range(200):
            async with busy:
                await asyncio.sleep(0)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return per_call_ms, callers * 200 / (time.perf_counter() - started)


def main() -> None:
    """Measure and print the figures as JSON."""
    config = build_config(
        {"name": "probe"},
        ["run.executor=ray", "model.backend=litellm", "model.name=openai/refiner",
         "judge.name=mmrefine_official", "judge.backend=litellm"],
    )  # fmt: skip
    plugins = load_plugins()
    pool = RayPool()
    began = time.perf_counter()
    pool.start(config, plugins)
    init_s = time.perf_counter() - began
    try:
        spec = SessionSpec(scope="probe", config=config, prompts=None, plugin_modules=[])
        began = time.perf_counter()
        asyncio.run(pool.open(spec))
        open_s = time.perf_counter() - began
        limits = SharedLimits(pool.limits, "probe", "probe")
        per_call_ms, per_s = asyncio.run(limit_costs(limits, 500, 64))
    finally:
        pool.close()
    print(json.dumps({
        "workers": len(pool.workers), "init_s": round(init_s, 2), "open_s": round(open_s, 2),
        "limit_call_ms": round(per_call_ms, 3), "limit_calls_per_s": round(per_s),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
