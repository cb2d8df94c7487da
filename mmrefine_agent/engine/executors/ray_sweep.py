"""A sweep on Ray: every cell at once, their items sharing one pool of workers and limits.

Each cell is an ordinary run into its own directory (locked, resumed, written by this driver
as its items finish); the cells' sessions share the Ray workers, the call cache on each
machine, and the limits actor, so ``run.concurrency`` and ``judge.concurrency`` bound the
calls in flight over the whole sweep, while each cell keeps its own ``run.max_cost_usd``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from mmrefine_agent.engine.executors.ray_driver import RayExecutor
from mmrefine_agent.engine.executors.ray_pool import RayPool
from mmrefine_agent.engine.sweep import Cell, CellOutcome, arun_sweep_concurrently, expand_grid
from mmrefine_agent.plugins_manager import Plugins

if TYPE_CHECKING:
    from mmrefine_agent.engine.run import RunOutcome


def sweep_on_ray(
    raw: dict[str, Any],
    out: Path,
    plugins: Plugins,
    *,
    restart: bool = False,
    origin: str = "config",
    on_cell: Callable[[CellOutcome], None] | None = None,
    check_cell: Callable[[Cell], None] | None = None,
    quiet: bool = False,
) -> list[CellOutcome]:
    """Run every cell of ``raw``'s grid concurrently on one Ray pool; returns their outcomes."""
    from mmrefine_agent.engine.run import arun

    first = expand_grid(raw, origin)[0].config
    pool = RayPool()
    executor = RayExecutor(first, pool)
    console = Console(stderr=True, quiet=quiet)

    async def run_cell(cell: Cell, run_dir: Path) -> RunOutcome:
        outcome = await arun(
            cell.config, run_dir, plugins=plugins, restart=restart, cell=cell.values,
            executor=executor,
        )  # fmt: skip
        console.print(
            f"cell {cell.name}: {outcome.n_done}/{outcome.n_items} done in "
            f"{outcome.elapsed_s:.1f}s",
            markup=False,
            highlight=False,
        )
        return outcome

    try:
        return asyncio.run(
            arun_sweep_concurrently(
                raw, out, run_cell, origin=origin, on_cell=on_cell, check_cell=check_cell
            )
        )
    finally:
        pool.close()
