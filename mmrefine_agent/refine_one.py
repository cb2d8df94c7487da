"""``refine_item``: one item through the graph, for notebooks and tests (no run directory)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from mmrefine_agent.config import RunConfig
from mmrefine_agent.model.backend import ModelBackend
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
    plugins: Plugins | Sequence[str | os.PathLike[str]] | None = None,
    backend: ModelBackend | None = None,
    judge_backend: ModelBackend | None = None,
) -> RefinedItem:
    """Refine (and judge) one item with ``config``'s strategy, model and judge.

    ``item`` is an :class:`Item` or an item key of the configured dataset. Nothing is written
    to disk; the call cache is used as in a run. ``plugins``: loaded plugins, or plugin
    module names and ``.py`` paths (``str`` or ``Path``) to load besides the entry points.
    """
    from mmrefine_agent.engine.session import Recorder, load_data, open_session, require_prompts
    from mmrefine_agent.errors import DataError

    if not isinstance(plugins, Plugins):
        plugins = load_plugins(plugins or ())
    keyed = config.model_copy(deep=True)
    if isinstance(item, str):
        keyed.data.limit = None
        keyed.data.filter.keys = [item]
    data = load_data(keyed, plugins)
    require_prompts(config, plugins, data)
    if isinstance(item, str):
        if item not in data.items:
            raise DataError(f"no item {item!r} in the configured dataset")
        item = data.items[item]
    out = RefinedItem(result=ItemResult(key=item.key, status="ok"))
    session = open_session(
        config, plugins, data.prompts,
        Recorder(step=out.steps.append, judge_call=out.judge_calls.append),
        backend=backend, judge_backend=judge_backend,
    )  # fmt: skip
    assert session.work is not None
    try:
        out.result = await session.work.refine(item)
    finally:
        await session.aclose()
    return out


def refine_item(item: Item | str, config: RunConfig, **options: object) -> RefinedItem:
    """Synchronous :func:`arefine_item` (runs in a thread when a loop is already running)."""
    return run_sync(arefine_item(item, config, **options))  # type: ignore[arg-type]
