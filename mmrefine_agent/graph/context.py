"""Per-item run context handed to the graph (settings travel as context, not as state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmrefine_agent.types import Item

if TYPE_CHECKING:
    from mmrefine_agent.data.prompts import OfficialPrompts
    from mmrefine_agent.model.caller import ModelCaller
    from mmrefine_agent.records.steps import StepRecord
    from mmrefine_agent.tools.box import ToolBox


@dataclass(frozen=True, slots=True)
class GraphContext:
    """What every node of one item's graph run may use."""

    item: Item
    client: ModelCaller
    prompts: OfficialPrompts | None
    emit_step: Callable[[StepRecord], None]
    tools: ToolBox | None = None
    """The tools the strategy may offer (``strategy.tools``; None: none)."""
    loop_steps: dict[tuple[int, str], int] = field(default_factory=dict)
    """How often each node on a loop ran, per round (``strategy.max_steps`` bounds it)."""
