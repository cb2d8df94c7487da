"""What each strategy of a sweep gains over the baseline strategy, and what a point costs.

The baseline of a cell is the cell with the same values on every other axis and the
**first** value of the ``strategy.name`` axis (list the paper protocol, ``single_pass``,
first). A cell's gain is its RefScore minus the baseline's; its cost per point is the extra
refinement tokens (and USD) over the baseline divided by the RefScore points gained, when it
gained any. Tokens count cache hits too, so the figure does not depend on which cell ran
first; USD counts only calls that were paid for. A cell whose strategy used the gold answer
is never a baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmrefine_agent.records.models import CellSummary

AXIS = "strategy.name"
METRIC = "RefScore"


def _others(row: CellSummary) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in row.values.items() if k != AXIS))


def with_gains(rows: Sequence[CellSummary], grid: Mapping[str, Any]) -> list[CellSummary]:
    """``rows`` with ``baseline``, ``gain`` and the costs per point filled in (a new list).

    Without a ``strategy.name`` axis there is no baseline and the rows are returned as they
    are.
    """
    strategies = grid.get(AXIS)
    if not isinstance(strategies, list) or not strategies:
        return list(rows)
    first = strategies[0]
    bases = {
        _others(row): row
        for row in rows
        if row.values.get(AXIS) == first and not row.uses_gold and row.rates.get(METRIC) is not None
    }
    out: list[CellSummary] = []
    for row in rows:
        base = bases.get(_others(row))
        mine = row.rates.get(METRIC)
        if base is None or base is row or mine is None:
            out.append(row)
            continue
        reference = base.rates[METRIC]
        assert reference is not None  # bases have a RefScore
        gain = round(mine - reference, 6)
        points = 100 * gain
        extra_tokens = row.refine_tokens - base.refine_tokens
        extra_cost = row.refine_cost_usd - base.refine_cost_usd
        out.append(
            row.model_copy(
                update={
                    "baseline": base.cell,
                    "gain": gain,
                    "tokens_per_point": round(extra_tokens / points, 1) if points > 0 else None,
                    "cost_per_point": round(extra_cost / points, 6) if points > 0 else None,
                }
            )
        )
    return out
