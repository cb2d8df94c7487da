"""The whole plugin surface of mmrefine-agent, as pluggy hook specifications.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names match
these specs. Built-ins are loaded from the ``mmrefine_agent`` entry-point group exactly like
third-party plugins, so an external package is a peer of the built-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from mmrefine_agent.data.base import Dataset
    from mmrefine_agent.events import RunInfo
    from mmrefine_agent.graph.strategy import Strategy
    from mmrefine_agent.judging.base import Judge
    from mmrefine_agent.model.backend import ModelBackend
    from mmrefine_agent.records.models import ItemResult, JudgeCallRecord, Scores, StepEvent

PROJECT = "mmrefine_agent"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

RegisterBackend = Callable[[str, "type[ModelBackend]"], None]
RegisterStrategy = Callable[[str, "type[Strategy]"], None]
RegisterJudge = Callable[[str, "type[Judge]"], None]
RegisterDataset = Callable[[str, "type[Dataset]"], None]
RegisterTool = Callable[["BaseTool"], None]


@hookspec
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Contribute model backends.

    Args:
        register: call ``register(name, BackendClass)`` once per backend; the class subclasses
            :class:`mmrefine_agent.ModelBackend`. A name registered twice is an error.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    """Contribute refinement strategies.

    Args:
        register: call ``register(name, StrategyClass)``; the class subclasses
            :class:`mmrefine_agent.Strategy` and supplies the four node behaviours
            (detect, locate, correct, verify) and the routing.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_register_judges(register: RegisterJudge) -> None:
    """Contribute judges that turn a refinement output into one of the six scenarios.

    Args:
        register: call ``register(name, JudgeClass)``; the class subclasses
            :class:`mmrefine_agent.judging.base.Judge`.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_register_datasets(register: RegisterDataset) -> None:
    """Contribute datasets that ``data.name`` can select.

    Args:
        register: call ``register(name, DatasetClass)``; the class subclasses
            :class:`mmrefine_agent.data.base.Dataset` and loads the configured slice as typed
            items (1-based step numbers) plus the records it could not use. Loading happens
            only for the selected dataset, when a run needs it. A name registered twice is an
            error.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_register_tools(register: RegisterTool) -> None:
    """Contribute tools a strategy may offer the model (``strategy.tools`` chooses which).

    Args:
        register: call ``register(tool)`` once per tool. A tool is a langchain-core tool (a
            function decorated with ``@tool``, or a ``BaseTool``): its name, description and
            argument schema are what the model is shown. A tool that needs the item (e.g. its
            image) reads it with :func:`mmrefine_agent.tool_context`; one that returns an
            image returns ``(text, Image)`` with ``response_format="content_and_artifact"``.
            What a tool raises becomes a result the model reads. Import langchain-core inside
            this function, not at module level: the hook runs only when a command needs tools.
            A name registered twice is an error.

    Returns:
        Nothing. Every implementation is called, the first time tools are needed (results
        are not collected).
    """


@hookspec
def mmrefine_run_started(run: RunInfo) -> None:
    """Called once when a session (a run, or a judging session) starts.

    Args:
        run: the run directory, the resolved config and, in a sweep, the cell's values.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_observe_step(step: StepEvent, run: RunInfo) -> None:
    """Observe one finished graph step (a trace sink).

    Args:
        step: the typed record also written to ``steps.jsonl`` (item key, round, node, calls
            with prompt summaries and answers, parsed fields, usage, any error). Read-only.
        run: the run it belongs to (directory, config, sweep cell). A v1 observer that takes
            only ``step`` keeps working.

    Returns:
        Nothing. Every implementation is called, in the event loop: keep it quick. An
        exception is reported once as a warning and does not stop the run.
    """


@hookspec
def mmrefine_observe_judgment(record: JudgeCallRecord, run: RunInfo) -> None:
    """Observe one judge call or decision as it is written to ``judgments.jsonl``.

    Args:
        record: item key, round, judge name, call, prompt, raw reply, parsed value, usage.
        run: the run it belongs to.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_observe_item(result: ItemResult, run: RunInfo) -> None:
    """Observe one item's result as it is written to ``results.jsonl``.

    Args:
        result: the typed result (status, rounds, judgment, usage; a failure's kind).
        run: the run it belongs to.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_run_finished(run_dir: str, scores: Scores, run: RunInfo) -> None:
    """Called once when a run (or a re-judge) has written its ``scores.json``.

    Args:
        run_dir: the run directory.
        scores: the typed content of ``scores.json``.
        run: the run (directory, config, sweep cell).

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """
