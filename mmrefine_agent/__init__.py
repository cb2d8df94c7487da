"""mmrefine-agent: research on how (multimodal) language models refine solutions.

The public API. Everything a plugin, a notebook or a script needs is importable from here;
module paths below this package may change between versions, these names do not::

    from mmrefine_agent import hookimpl, Strategy, NodeContext, load_config, run, open_run

Names are imported on first use, so ``import mmrefine_agent`` stays fast (the command line
imports the package too).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported straight from a source checkout (its folder first on sys.path: `python -m ...` run
# in the checkout, or a Ray worker, which puts the driver's working directory first), the
# built-in plugins/ and strategies/ beside this folder are still mmrefine_agent.plugins and
# mmrefine_agent.strategies, as in an installed copy (setuptools maps them there).
_checkout = Path(__file__).resolve().parent.parent
if (
    not (Path(__file__).parent / "plugins").is_dir()
    and (_checkout / "strategies" / "__init__.py").is_file()
):
    __path__.append(str(_checkout))

from mmrefine_agent.hookspecs import hookimpl  # noqa: E402

if TYPE_CHECKING:
    from mmrefine_agent.config import RunConfig, load_config
    from mmrefine_agent.engine.backend import ModelBackend
    from mmrefine_agent.engine.executors import Executor, ExecutorJob
    from mmrefine_agent.engine.run import RunOutcome, arun, run
    from mmrefine_agent.events import RunInfo
    from mmrefine_agent.graph.shape import GraphShape
    from mmrefine_agent.graph.state import RefineState
    from mmrefine_agent.graph.strategy import Gold, NodeContext, Strategy
    from mmrefine_agent.judging.base import Judge, Judgment
    from mmrefine_agent.records.models import (
        ItemResult,
        JudgeCallRecord,
        Scores,
        StepEvent,
    )
    from mmrefine_agent.refine_one import RefinedItem, arefine_item, refine_item
    from mmrefine_agent.run_view import RunView, open_run
    from mmrefine_agent.types import ChatMessage, Image, Item, ModelRequest, ModelResponse

__version__ = "0.2.0"

_LAZY = {
    "RunConfig": "mmrefine_agent.config",
    "load_config": "mmrefine_agent.config",
    "ModelBackend": "mmrefine_agent.engine.backend",
    "Executor": "mmrefine_agent.engine.executors",
    "ExecutorJob": "mmrefine_agent.engine.executors",
    "RunOutcome": "mmrefine_agent.engine.run",
    "arun": "mmrefine_agent.engine.run",
    "run": "mmrefine_agent.engine.run",
    "RunInfo": "mmrefine_agent.events",
    "GraphShape": "mmrefine_agent.graph.shape",
    "RefineState": "mmrefine_agent.graph.state",
    "Gold": "mmrefine_agent.graph.strategy",
    "NodeContext": "mmrefine_agent.graph.strategy",
    "Strategy": "mmrefine_agent.graph.strategy",
    "Judge": "mmrefine_agent.judging.base",
    "Judgment": "mmrefine_agent.judging.base",
    "ItemResult": "mmrefine_agent.records.models",
    "JudgeCallRecord": "mmrefine_agent.records.models",
    "Scores": "mmrefine_agent.records.models",
    "StepEvent": "mmrefine_agent.records.models",
    "RefinedItem": "mmrefine_agent.refine_one",
    "arefine_item": "mmrefine_agent.refine_one",
    "refine_item": "mmrefine_agent.refine_one",
    "RunView": "mmrefine_agent.run_view",
    "open_run": "mmrefine_agent.run_view",
    "ChatMessage": "mmrefine_agent.types",
    "Image": "mmrefine_agent.types",
    "Item": "mmrefine_agent.types",
    "ModelRequest": "mmrefine_agent.types",
    "ModelResponse": "mmrefine_agent.types",
}

__all__ = [
    "ChatMessage",
    "Executor",
    "ExecutorJob",
    "Gold",
    "GraphShape",
    "Image",
    "Item",
    "ItemResult",
    "Judge",
    "JudgeCallRecord",
    "Judgment",
    "ModelBackend",
    "ModelRequest",
    "ModelResponse",
    "NodeContext",
    "RefineState",
    "RefinedItem",
    "RunConfig",
    "RunInfo",
    "RunOutcome",
    "RunView",
    "Scores",
    "StepEvent",
    "Strategy",
    "__version__",
    "arefine_item",
    "arun",
    "hookimpl",
    "load_config",
    "open_run",
    "refine_item",
    "run",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmrefine_agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
