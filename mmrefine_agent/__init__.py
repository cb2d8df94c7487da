"""mmrefine-agent: research on how (multimodal) language models refine solutions.

The public API. Everything a plugin, a notebook or a script needs is importable from here;
module paths below this package may change between versions, these names do not::

    from mmrefine_agent import hookimpl, Strategy, NodeContext, load_config, run, open_run

Names are imported on first use, so ``import mmrefine_agent`` stays fast (the command line
imports the package too).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mmrefine_agent.hookspecs import (
    RegisterBackend,
    RegisterDataset,
    RegisterJudge,
    RegisterStrategy,
    RegisterTool,
    hookimpl,
)

if TYPE_CHECKING:
    from mmrefine_agent.analysis.html_report import write_html_report
    from mmrefine_agent.config import (
        DataConfig,
        ModelConfig,
        OtelObserverConfig,
        RunConfig,
        StrategyConfig,
        WandbObserverConfig,
        env_reference,
        load_config,
    )
    from mmrefine_agent.data.base import Dataset, LoadedData, RowProblem, number_steps
    from mmrefine_agent.data.mmrefine import (
        MMREFINE_FILTER_FIELDS,
        MMREFINE_PARQUET_NAME,
        load_mmrefine_items,
    )
    from mmrefine_agent.data.step_dataset import (
        RawRecord,
        RecordError,
        StepDataset,
        read_jsonl,
        step_in_range,
        text_field,
        text_list,
    )
    from mmrefine_agent.engine.executors import Executor, ExecutorJob
    from mmrefine_agent.engine.run import RunOutcome, arun, run
    from mmrefine_agent.errors import (
        ConfigError,
        DataError,
        MMRefineError,
        ModelCallError,
        PluginError,
    )
    from mmrefine_agent.events import RunInfo
    from mmrefine_agent.graph.paper_protocol import SinglePass, official_refinement_prompt
    from mmrefine_agent.graph.parsing import (
        ParsedRefinement,
        first_step_number,
        parse_error_step,
        parse_final_answer,
        parse_labelled,
        parse_refinement,
        parse_verdict,
    )
    from mmrefine_agent.graph.shape import BEGIN_ROUND, END_ROUND, GraphShape
    from mmrefine_agent.graph.state import RefineState
    from mmrefine_agent.graph.strategy import Gold, NodeContext, Strategy
    from mmrefine_agent.graph.tool_steps import run_tool_step
    from mmrefine_agent.judging.answers import answers_match
    from mmrefine_agent.judging.base import Judge, Judgment, parse_binary
    from mmrefine_agent.judging.scenarios import (
        EC,
        ED,
        FD,
        JUDGE_ERROR,
        RF,
        RS,
        VS,
        cascade,
        cascade_rule,
        scenario_rule,
    )
    from mmrefine_agent.model.backend import (
        ModelBackend,
        PermanentModelError,
        ReplyTooLarge,
        TransientModelError,
        parse_retry_after,
        token_count,
    )
    from mmrefine_agent.model.caller import ModelCaller
    from mmrefine_agent.model.image_urls import ContentBuilder
    from mmrefine_agent.plugins_manager import Plugins, load_plugins
    from mmrefine_agent.records.models import (
        CallUsage,
        ItemResult,
        JudgeCallRecord,
        Scores,
        StepEvent,
    )
    from mmrefine_agent.records.steps import jsonable
    from mmrefine_agent.redact import scrub, scrub_text
    from mmrefine_agent.refine_one import RefinedItem, arefine_item, refine_item
    from mmrefine_agent.run_view import RunView, open_run
    from mmrefine_agent.tools.box import ToolBox
    from mmrefine_agent.tools.context import ToolContext, tool_context
    from mmrefine_agent.tools.results import ToolResult, tool_messages
    from mmrefine_agent.tools.runner import ToolRun, run_tool_call
    from mmrefine_agent.types import (
        CallTags,
        ChatMessage,
        Image,
        Item,
        Label,
        ModelRequest,
        ModelResponse,
        ToolCall,
    )

__version__ = "0.2.0"

_LAZY = {
    "DataConfig": "mmrefine_agent.config",
    "ModelConfig": "mmrefine_agent.config",
    "RunConfig": "mmrefine_agent.config",
    "StrategyConfig": "mmrefine_agent.config",
    "load_config": "mmrefine_agent.config",
    "OtelObserverConfig": "mmrefine_agent.config",
    "WandbObserverConfig": "mmrefine_agent.config",
    "env_reference": "mmrefine_agent.config",
    "write_html_report": "mmrefine_agent.analysis.html_report",
    "scrub": "mmrefine_agent.redact",
    "scrub_text": "mmrefine_agent.redact",
    "ModelBackend": "mmrefine_agent.model.backend",
    "PermanentModelError": "mmrefine_agent.model.backend",
    "ReplyTooLarge": "mmrefine_agent.model.backend",
    "TransientModelError": "mmrefine_agent.model.backend",
    "parse_retry_after": "mmrefine_agent.model.backend",
    "token_count": "mmrefine_agent.model.backend",
    "ModelCaller": "mmrefine_agent.model.caller",
    "ContentBuilder": "mmrefine_agent.model.image_urls",
    "Executor": "mmrefine_agent.engine.executors",
    "ExecutorJob": "mmrefine_agent.engine.executors",
    "RunOutcome": "mmrefine_agent.engine.run",
    "arun": "mmrefine_agent.engine.run",
    "run": "mmrefine_agent.engine.run",
    "ConfigError": "mmrefine_agent.errors",
    "DataError": "mmrefine_agent.errors",
    "MMRefineError": "mmrefine_agent.errors",
    "ModelCallError": "mmrefine_agent.errors",
    "PluginError": "mmrefine_agent.errors",
    "RunInfo": "mmrefine_agent.events",
    "Dataset": "mmrefine_agent.data.base",
    "LoadedData": "mmrefine_agent.data.base",
    "RowProblem": "mmrefine_agent.data.base",
    "number_steps": "mmrefine_agent.data.base",
    "RawRecord": "mmrefine_agent.data.step_dataset",
    "RecordError": "mmrefine_agent.data.step_dataset",
    "StepDataset": "mmrefine_agent.data.step_dataset",
    "read_jsonl": "mmrefine_agent.data.step_dataset",
    "step_in_range": "mmrefine_agent.data.step_dataset",
    "text_field": "mmrefine_agent.data.step_dataset",
    "text_list": "mmrefine_agent.data.step_dataset",
    "MMREFINE_FILTER_FIELDS": "mmrefine_agent.data.mmrefine",
    "MMREFINE_PARQUET_NAME": "mmrefine_agent.data.mmrefine",
    "load_mmrefine_items": "mmrefine_agent.data.mmrefine",
    "ParsedRefinement": "mmrefine_agent.graph.parsing",
    "first_step_number": "mmrefine_agent.graph.parsing",
    "parse_error_step": "mmrefine_agent.graph.parsing",
    "parse_final_answer": "mmrefine_agent.graph.parsing",
    "parse_labelled": "mmrefine_agent.graph.parsing",
    "parse_refinement": "mmrefine_agent.graph.parsing",
    "parse_verdict": "mmrefine_agent.graph.parsing",
    "SinglePass": "mmrefine_agent.graph.paper_protocol",
    "official_refinement_prompt": "mmrefine_agent.graph.paper_protocol",
    "BEGIN_ROUND": "mmrefine_agent.graph.shape",
    "END_ROUND": "mmrefine_agent.graph.shape",
    "GraphShape": "mmrefine_agent.graph.shape",
    "RefineState": "mmrefine_agent.graph.state",
    "Gold": "mmrefine_agent.graph.strategy",
    "NodeContext": "mmrefine_agent.graph.strategy",
    "Strategy": "mmrefine_agent.graph.strategy",
    "run_tool_step": "mmrefine_agent.graph.tool_steps",
    "answers_match": "mmrefine_agent.judging.answers",
    "Judge": "mmrefine_agent.judging.base",
    "Judgment": "mmrefine_agent.judging.base",
    "parse_binary": "mmrefine_agent.judging.base",
    "EC": "mmrefine_agent.judging.scenarios",
    "ED": "mmrefine_agent.judging.scenarios",
    "FD": "mmrefine_agent.judging.scenarios",
    "JUDGE_ERROR": "mmrefine_agent.judging.scenarios",
    "RF": "mmrefine_agent.judging.scenarios",
    "RS": "mmrefine_agent.judging.scenarios",
    "VS": "mmrefine_agent.judging.scenarios",
    "cascade": "mmrefine_agent.judging.scenarios",
    "cascade_rule": "mmrefine_agent.judging.scenarios",
    "scenario_rule": "mmrefine_agent.judging.scenarios",
    "Plugins": "mmrefine_agent.plugins_manager",
    "load_plugins": "mmrefine_agent.plugins_manager",
    "CallUsage": "mmrefine_agent.records.models",
    "ItemResult": "mmrefine_agent.records.models",
    "JudgeCallRecord": "mmrefine_agent.records.models",
    "Scores": "mmrefine_agent.records.models",
    "StepEvent": "mmrefine_agent.records.models",
    "jsonable": "mmrefine_agent.records.steps",
    "RefinedItem": "mmrefine_agent.refine_one",
    "arefine_item": "mmrefine_agent.refine_one",
    "refine_item": "mmrefine_agent.refine_one",
    "RunView": "mmrefine_agent.run_view",
    "open_run": "mmrefine_agent.run_view",
    "CallTags": "mmrefine_agent.types",
    "ChatMessage": "mmrefine_agent.types",
    "Image": "mmrefine_agent.types",
    "Item": "mmrefine_agent.types",
    "Label": "mmrefine_agent.types",
    "ModelRequest": "mmrefine_agent.types",
    "ModelResponse": "mmrefine_agent.types",
    "ToolCall": "mmrefine_agent.types",
    "ToolBox": "mmrefine_agent.tools.box",
    "ToolContext": "mmrefine_agent.tools.context",
    "tool_context": "mmrefine_agent.tools.context",
    "ToolResult": "mmrefine_agent.tools.results",
    "tool_messages": "mmrefine_agent.tools.results",
    "ToolRun": "mmrefine_agent.tools.runner",
    "run_tool_call": "mmrefine_agent.tools.runner",
}

__all__ = [
    "BEGIN_ROUND",
    "EC",
    "ED",
    "END_ROUND",
    "FD",
    "JUDGE_ERROR",
    "MMREFINE_FILTER_FIELDS",
    "MMREFINE_PARQUET_NAME",
    "RF",
    "RS",
    "VS",
    "CallTags",
    "CallUsage",
    "ChatMessage",
    "ConfigError",
    "ContentBuilder",
    "DataConfig",
    "DataError",
    "Dataset",
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
    "Label",
    "LoadedData",
    "MMRefineError",
    "ModelBackend",
    "ModelCallError",
    "ModelCaller",
    "ModelConfig",
    "ModelRequest",
    "ModelResponse",
    "NodeContext",
    "OtelObserverConfig",
    "ParsedRefinement",
    "PermanentModelError",
    "PluginError",
    "Plugins",
    "RawRecord",
    "RecordError",
    "RefineState",
    "RefinedItem",
    "RegisterBackend",
    "RegisterDataset",
    "RegisterJudge",
    "RegisterStrategy",
    "RegisterTool",
    "ReplyTooLarge",
    "RowProblem",
    "RunConfig",
    "RunInfo",
    "RunOutcome",
    "RunView",
    "Scores",
    "SinglePass",
    "StepDataset",
    "StepEvent",
    "Strategy",
    "StrategyConfig",
    "ToolBox",
    "ToolCall",
    "ToolContext",
    "ToolResult",
    "ToolRun",
    "TransientModelError",
    "WandbObserverConfig",
    "__version__",
    "answers_match",
    "arefine_item",
    "arun",
    "cascade",
    "cascade_rule",
    "env_reference",
    "first_step_number",
    "hookimpl",
    "jsonable",
    "load_config",
    "load_mmrefine_items",
    "load_plugins",
    "number_steps",
    "official_refinement_prompt",
    "open_run",
    "parse_binary",
    "parse_error_step",
    "parse_final_answer",
    "parse_labelled",
    "parse_refinement",
    "parse_retry_after",
    "parse_verdict",
    "read_jsonl",
    "refine_item",
    "run",
    "run_tool_call",
    "run_tool_step",
    "scenario_rule",
    "scrub",
    "scrub_text",
    "step_in_range",
    "text_field",
    "text_list",
    "token_count",
    "tool_context",
    "tool_messages",
    "write_html_report",
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
