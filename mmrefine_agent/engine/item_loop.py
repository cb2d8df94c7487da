"""One item through the graph, then the judge: the unit of work of a run.

Every failure stays inside its item. A model call that fails after its retries makes the
item a ``backend_error`` (``budget`` when the cost budget stopped it); an exception in
strategy code (a node or a router), a bad route or a runaway loop makes it a
``strategy_error`` naming the node and the exception (the traceback is in the failing step's
record); an exception in judge code makes its judgment a ``judge_error``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmrefine_agent.data.prompts import OfficialPrompts
from mmrefine_agent.engine.client import BudgetExceeded, ModelClient
from mmrefine_agent.engine.results import failed_result, item_fields, ok_result
from mmrefine_agent.engine.usage import item_usage
from mmrefine_agent.errors import ModelCallError, NodeFailed, RouteError
from mmrefine_agent.graph.builder import compile_graph
from mmrefine_agent.graph.context import GraphContext
from mmrefine_agent.graph.strategy import Strategy
from mmrefine_agent.judging.base import Judge
from mmrefine_agent.judging.item_judging import judge_record
from mmrefine_agent.records.models import FailureKind, ItemResult
from mmrefine_agent.records.steps import StepRecord
from mmrefine_agent.tools.box import ToolBox
from mmrefine_agent.types import Item


def classify_failure(exc: BaseException) -> tuple[FailureKind, str | None, str, str]:
    """(kind, node, exception type, message) of an exception raised while refining an item."""
    if isinstance(exc, BudgetExceeded):
        return "budget", None, type(exc).__name__, str(exc)
    if isinstance(exc, ModelCallError):
        node = str(exc).split(":", 1)[0] if ":" in str(exc) else None
        return "backend_error", node, type(exc).__name__, str(exc)
    if isinstance(exc, NodeFailed):
        error = exc.error
        if isinstance(error, ModelCallError):  # a node wrapped a model failure: still the model's
            return classify_failure(error)
        return (
            "strategy_error",
            exc.node,
            type(error).__name__,
            f"{exc.node}: {type(error).__name__}: {error}",
        )
    if isinstance(exc, RouteError):
        return "strategy_error", None, type(exc).__name__, str(exc)
    name = type(exc).__name__
    if name == "GraphRecursionError":
        message = "the graph did not end (a route loops forever?): recursion limit reached"
        return "strategy_error", None, name, message
    return "strategy_error", None, name, f"{name}: {exc}"


@dataclass(slots=True)
class ItemWork:
    """What refining and judging an item needs (shared by every item of a session)."""

    strategy: Strategy
    client: ModelClient
    prompts: OfficialPrompts | None
    judge: Judge | None
    per_round: bool
    model_name: str
    emit_step: Callable[[StepRecord], None]
    graph: Any = None
    """The compiled graph (None: compiled on the first item that needs it)."""
    tools: ToolBox | None = None
    """The tools the strategy may offer (see :func:`mmrefine_agent.tools.box.toolbox_for`)."""

    @property
    def recursion_limit(self) -> int:
        """Generous: every node of every round, plus slack; a loop that never ends fails.

        Room for a loop of up to 4 nodes to reach ``strategy.max_steps`` first (its failure
        names the loop).
        """
        return (30 + 4 * self.strategy.max_steps) * self.strategy.max_rounds + 30

    async def refine(self, item: Item) -> ItemResult:
        """Run the item through the graph (then the judge); never raises for plugin errors."""
        started = time.perf_counter()
        own: list[StepRecord] = []

        def emit(step: StepRecord) -> None:
            own.append(step)
            self.emit_step(step)

        context = GraphContext(
            item=item, client=self.client, prompts=self.prompts, emit_step=emit, tools=self.tools
        )
        if self.graph is None:
            self.graph = compile_graph(self.strategy)
        try:
            state = await self.graph.ainvoke(
                self.strategy.initial_state(item),
                context=context,
                config={"recursion_limit": self.recursion_limit},
            )
        except Exception as exc:
            kind, node, exception, message = classify_failure(exc)
            return failed_result(
                item_fields(item),
                kind,
                message,
                strategy=self.strategy.name,
                model=self.model_name,
                node=node,
                exception=exception,
                usage=item_usage(own),
            )
        record = ok_result(
            item,
            list(state.get("rounds", [])),
            strategy=self.strategy.name,
            model=self.model_name,
            usage=item_usage(own),
            elapsed_s=time.perf_counter() - started,
            image_not_seen=item.image is not None and not self.client.backend.sees_images,
            uses_gold=self.strategy.uses_gold,
        )
        await self.judge_item(item, record)
        return record

    async def judge_item(self, item: Item, record: ItemResult, *, force: bool = False) -> None:
        """Judge a refined record in place (no judge configured: nothing to do)."""
        if self.judge is not None:
            await judge_record(self.judge, item, record, per_round=self.per_round, force=force)
