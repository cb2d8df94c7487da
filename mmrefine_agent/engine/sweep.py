"""Sweeps: a ``grid:`` of dotted keys x value lists becomes one run directory per cell.

Cells run one after another (with ``run.executor: ray``, all at once, sharing the Ray workers
and limits) into ``OUT/<cell>`` (``OUT`` defaults to ``run.out_dir/NAME``) and
share the call cache, so work that overlaps between cells (e.g. round 1 of ``max_rounds: 1`` and
``max_rounds: 3``) is paid once. A sweep that is run again resumes: every cell resumes its run
directory, and finished cells are only re-scored. ``sweep.json`` lists the cells, their
overrides and their headline figures; it is rewritten after every cell. ``options_by_strategy``
(strategy name -> options, a config key) gives each strategy of a grid its own options.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrefine_agent.analysis.sweep_gain import with_gains
from mmrefine_agent.config import RunConfig, apply_override, build_config
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.records.models import CellSummary, Scores, SweepDoc, UsageBlock
from mmrefine_agent.records.ownership import claim
from mmrefine_agent.records.rundir import write_json_atomic
from mmrefine_agent.records.steps import jsonable

SWEEP_FILE = "sweep.json"


@dataclass(slots=True)
class Cell:
    """One point of the grid: its directory name, the values it sets, and its config."""

    name: str
    values: dict[str, Any]
    config: RunConfig


@dataclass(slots=True)
class CellOutcome:
    """What one cell produced (or why it failed)."""

    cell: Cell
    run_dir: Path
    status: str
    scores: Scores | None = None
    elapsed_s: float = 0.0
    error: str | None = None


def _slug(value: Any) -> str:
    """A path-safe piece of a directory name: no separators, no leading dots, bounded."""
    text = value if isinstance(value, str) else repr(value)
    text = re.sub(r"[^A-Za-z0-9_.+=-]+", "_", text)
    text = re.sub(r"\.{2,}", "_", text).strip("_.")
    return text[:60] or "_"


def cell_name(values: dict[str, Any]) -> str:
    """A readable, filesystem-safe directory name, e.g. ``max_rounds=3`` or ``name=self_critique``.

    Keys are shortened to their last part unless two axes share it.
    """
    lasts = [key.rsplit(".", 1)[-1] for key in values]
    parts = []
    for key, last in zip(values, lasts, strict=True):
        label = last if lasts.count(last) == 1 else key
        parts.append(f"{_slug(label)}={_slug(values[key])}")
    return "__".join(parts)[:200] or "base"


def expand_grid(raw: dict[str, Any], origin: str = "config") -> list[Cell]:
    """Every cell of the raw config's ``grid`` (validated up front, before anything runs)."""
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"{origin}: a sweep needs a 'grid:' mapping of dotted keys to lists")
    axes: list[tuple[str, list[Any]]] = []
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{origin}: grid.{key} must be a non-empty list (got {values!r})")
        if key.split(".", 1)[0] == "grid":
            raise ConfigError(f"{origin}: grid.{key}: a grid cannot set the grid")
        axes.append((key, values))
    base = {k: v for k, v in raw.items() if k != "grid"}
    cells: list[Cell] = []
    seen: set[str] = set()
    for combination in itertools.product(*(values for _, values in axes)):
        values = {key: value for (key, _), value in zip(axes, combination, strict=True)}
        merged = copy.deepcopy(base)
        for key, value in values.items():
            apply_override(merged, key.split("."), copy.deepcopy(value))
        name = cell_name(values)
        if name in seen:
            raise ConfigError(f"{origin}: two grid cells share the name {name!r}")
        seen.add(name)
        merged["name"] = f"{raw.get('name', 'sweep')}.{name}"  # a label: one path component
        config = build_config(merged, origin=f"{origin} [cell {name}]")
        cells.append(Cell(name=name, values=values, config=config))
    return cells


def summary_row(outcome: CellOutcome) -> CellSummary:
    """The headline figures of one cell; usage is the cell's run total over all sessions."""
    scores = outcome.scores
    overall = scores.overall if scores is not None and scores.overall is not None else None
    usage = scores.usage.combined() if scores is not None and scores.usage else UsageBlock()
    refine = scores.usage.refine if scores is not None and scores.usage else UsageBlock()
    return CellSummary(
        cell=outcome.cell.name,
        values={k: jsonable(v) for k, v in outcome.cell.values.items()},
        run_dir=str(outcome.run_dir),
        status=outcome.status,
        error=outcome.error,
        uses_gold=scores.uses_gold if scores is not None else False,
        n_judged=scores.n_judged if scores is not None else 0,
        rates=overall.rates if overall is not None else {},
        ci95=overall.ci95 if overall is not None else {},
        calls=usage.calls,
        cache_hits=usage.cache_hits,
        tokens=usage.tokens,
        cost_usd=usage.cost_usd,
        elapsed_s=round(outcome.elapsed_s, 3),
        refine_tokens=refine.tokens,
        refine_cost_usd=refine.cost_usd,
    )


def write_summary(out: Path, name: str, grid: dict[str, Any], outcomes: list[CellOutcome]) -> None:
    """``sweep.json``: the grid and one row per cell run so far."""
    write_json_atomic(
        out / SWEEP_FILE,
        SweepDoc(
            name=name,
            grid={k: jsonable(v) for k, v in grid.items()},
            cells=with_gains([summary_row(o) for o in outcomes], grid),
        ),
    )


RunCell = Callable[[Cell, Path], Any]


def _checked_cells(
    raw: dict[str, Any],
    out: Path,
    origin: str,
    check_cell: Callable[[Cell], None] | None,
) -> list[Cell]:
    """Every cell, each checked before any runs; refuses a cell that would leave ``out``."""
    from mmrefine_agent.errors import MMRefineError

    cells = expand_grid(raw, origin)
    for cell in cells:
        if check_cell is not None:
            try:
                check_cell(cell)
            except MMRefineError as exc:
                raise type(exc)(f"{origin} [cell {cell.name}]: {exc}") from exc
        if (out / cell.name).resolve().parent != out.resolve():  # never outside the sweep
            raise ConfigError(f"{origin}: cell {cell.name!r} would leave {out}")
    claim(out, "sweep")  # someone else's directory is refused before anything is written
    return cells


def _outcome(cell: Cell, run_dir: Path, started: float, result: Any) -> CellOutcome:
    """A cell's outcome from what its run returned (a RunOutcome) or raised."""
    elapsed = time.perf_counter() - started
    if isinstance(result, BaseException):
        return CellOutcome(cell, run_dir, "failed", error=str(result), elapsed_s=elapsed)
    status = "ok" if result.n_errors == 0 else f"{result.n_errors} failed items"
    return CellOutcome(cell, run_dir, status, scores=result.scores, elapsed_s=elapsed)


def run_sweep(
    raw: dict[str, Any],
    out: Path,
    run_cell: RunCell,
    *,
    origin: str = "config",
    on_cell: Callable[[CellOutcome], None] | None = None,
    check_cell: Callable[[Cell], None] | None = None,
) -> list[CellOutcome]:
    """Run every cell with ``run_cell(cell, run_dir)`` (which returns a RunOutcome).

    ``check_cell`` runs on every cell before any cell runs (e.g. that its backend, strategy and
    judge exist), so a typo in the last value of a grid fails at once, not hours later. A cell
    that raises while running is recorded as failed and the sweep goes on; the caller decides
    the exit code. ``sweep.json`` is rewritten after every cell.
    """
    from mmrefine_agent.errors import MMRefineError

    cells = _checked_cells(raw, out, origin, check_cell)
    outcomes: list[CellOutcome] = []
    for cell in cells:
        run_dir = out / cell.name
        started = time.perf_counter()
        try:
            result = run_cell(cell, run_dir)
        except MMRefineError as exc:
            result = exc
        outcomes.append(_outcome(cell, run_dir, started, result))
        write_summary(out, str(raw.get("name", "sweep")), raw.get("grid") or {}, outcomes)
        if on_cell is not None:
            on_cell(outcomes[-1])
    return outcomes


async def arun_sweep_concurrently(
    raw: dict[str, Any],
    out: Path,
    run_cell: Callable[[Cell, Path], Awaitable[Any]],
    *,
    origin: str = "config",
    on_cell: Callable[[CellOutcome], None] | None = None,
    check_cell: Callable[[Cell], None] | None = None,
) -> list[CellOutcome]:
    """:func:`run_sweep` with every cell at once (``await run_cell(cell, run_dir)``).

    For executors that spread work (``run.executor: ray``): the cells' items share the
    workers and the limits. ``sweep.json`` is rewritten as each cell ends (cells in grid
    order; a cell still running is not listed yet).
    """
    from mmrefine_agent.errors import MMRefineError

    cells = _checked_cells(raw, out, origin, check_cell)
    done: dict[str, CellOutcome] = {}

    async def one(cell: Cell) -> None:
        run_dir = out / cell.name
        started = time.perf_counter()
        try:
            result = await run_cell(cell, run_dir)
        except MMRefineError as exc:
            result = exc
        done[cell.name] = _outcome(cell, run_dir, started, result)
        ordered = [done[c.name] for c in cells if c.name in done]
        write_summary(out, str(raw.get("name", "sweep")), raw.get("grid") or {}, ordered)
        if on_cell is not None:
            on_cell(done[cell.name])

    await asyncio.gather(*(one(cell) for cell in cells))
    return [done[c.name] for c in cells]
