"""Executors: where a run's items are refined and judged.

``run.executor: local`` (the default) runs every item in the driver's asyncio loop, and in
worker processes it starts on this machine when ``run.processes`` asks for more than one;
``run.executor: ray`` runs them in Ray worker processes (the local machine's cores, or a
cluster at ``run.ray_address`` / ``RAY_ADDRESS``) and streams each finished item back. Either
way the driver alone writes the run files and calls the observer hooks, so a run directory
cannot tell which executor made it.
"""

from __future__ import annotations

from mmrefine_agent.engine.executors.base import (
    Executor,
    ExecutorJob,
    close_executor,
    expect_items,
    make_executor,
)

__all__ = ["Executor", "ExecutorJob", "close_executor", "expect_items", "make_executor"]
