"""``refine_item``: one item through the graph, for notebooks and tests (no run directory)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmrefine_agent.config import RunConfig
from mmrefine_agent.engine.backend import ModelBackend
from mmrefine_agent.plugins_manager import Plugins, load_plugins
from mmrefine_agent.records.models import ItemResult, JudgeCallRecord, StepEvent
from mmrefine_agent.sync import run_sync
from mmrefine_agent.types import Item


@dataclass(slots=True)
class RefinedItem:
    """What refining one item produced: its result (judged, if a judge is set) and trace."""

    result: ItemResult
    steps: list[StepEvent] = field(default_factory=list)
    judge_calls: list[JudgeCallRecord] = field(default_factory=list)


async def arefine_item(
    item: Item | str,
    config: RunConfig,
    *,
    plugins: Plugins | None = None,
    backend: ModelBackend | None = None,
    judge_backend: ModelBackend | None = None,
) -> RefinedItem:
    """Refine (and judge) one item with ``config``'s strategy, model and judge.

    ``item`` is an :class:`Item` or an item key of the configured dataset. Nothing is written
    to disk; the call cache is used as in a run.
    """
    from mmrefine_agent.data.run_slice import load_run_items
    from mmrefine_agent.engine.item_loop import ItemWork
    from mmrefine_agent.engine.services import build_services
    from mmrefine_agent.engine.writers import RunFiles
    from mmrefine_agent.events import RunInfo

    plugins = plugins or load_plugins()
    keyed = config.model_copy(deep=True)
    if isinstance(item, str):
        keyed.data.limit = None
        keyed.data.filter.keys = [item]
    _dir, loaded, prompts = load_run_items(keyed, plugins)
    if isinstance(item, str):
        if not loaded.items:
            from mmrefine_agent.errors import DataError

            raise DataError(f"no item {item!r} in the configured dataset")
        item = loaded.items[0]
    out = RefinedItem(result=ItemResult(key=item.key, status="ok"))
    info = RunInfo(run_dir=Path("."), config=config)
    services = build_services(
        config,
        plugins,
        prompts,
        lambda entry: out.judge_calls.append(RunFiles.judge_call(info, entry).call),
        backend=backend,
        judge_backend=judge_backend,
    )
    assert services.client is not None
    work = ItemWork(
        strategy=plugins.strategies.get(config.strategy.name)(config.strategy),
        client=services.client,
        prompts=prompts,
        judge=services.judge,
        per_round=config.judge.per_round,
        model_name=f"{config.model.backend}:{config.model.name}",
        emit_step=lambda step: out.steps.append(step.to_event()),
    )
    try:
        out.result = await work.refine(item)
    finally:
        await services.aclose()
    return out


def refine_item(item: Item | str, config: RunConfig, **options: object) -> RefinedItem:
    """Synchronous :func:`arefine_item` (runs in a thread when a loop is already running)."""
    return run_sync(arefine_item(item, config, **options))  # type: ignore[arg-type]
