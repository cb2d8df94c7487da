"""The whole plugin surface of mmrefine-agent, as pluggy hook specifications.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names match
these specs. Built-ins are loaded from the ``mmrefine_agent`` entry-point group exactly like
third-party plugins, so an external package is a peer of the built-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from mmrefine_agent.engine.backend import ModelBackend
    from mmrefine_agent.graph.strategy import Strategy
    from mmrefine_agent.judging.base import Judge
    from mmrefine_agent.records.steps import StepRecord

PROJECT = "mmrefine_agent"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

RegisterBackend = Callable[[str, "type[ModelBackend]"], None]
RegisterStrategy = Callable[[str, "type[Strategy]"], None]
RegisterJudge = Callable[[str, "type[Judge]"], None]


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
def mmrefine_observe_step(step: StepRecord) -> None:
    """Observe one finished graph step (a trace sink).

    Args:
        step: the record also written to ``steps.jsonl`` (item key, round, node, prompt
            summary, raw answer, parsed fields, usage). Treat it as read-only.

    Returns:
        Nothing. Every implementation is called, in the event loop: keep it quick.
    """


@hookspec
def mmrefine_observe_judgment(record: dict[str, Any]) -> None:
    """Observe one judge decision as it is written to ``judgments.jsonl``.

    Args:
        record: item key, round, judge name, scenario, parsed fields and the judge calls.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """


@hookspec
def mmrefine_run_finished(run_dir: str, scores: dict[str, Any]) -> None:
    """Called once when a run (or a re-judge) has written its ``scores.json``.

    Args:
        run_dir: the run directory.
        scores: the content of ``scores.json``.

    Returns:
        Nothing. Every implementation is called (results are not collected).
    """
