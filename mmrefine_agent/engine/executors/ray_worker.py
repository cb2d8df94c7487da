"""The Ray worker: one process that refines and judges the items the driver sends it.

A worker holds one session per run it serves (a sweep's cells share the workers): the run's
plugins, strategy, graph and model clients, built in the worker from the run's config, with
the call cache on this machine and the limits shared through the limits actor. Each item comes
back as a :class:`ShardReply` holding its result, the step and judge-call records made since
the last reply, and the session's usage so far; the worker writes nothing to the run directory.
This module does not import Ray: the driver wraps :class:`ShardWorker` as an actor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from mmrefine_agent.config import RunConfig
from mmrefine_agent.data.prompts import OfficialPrompts
from mmrefine_agent.engine.executors.limits import SharedBudget, SharedLimits
from mmrefine_agent.engine.item_loop import ItemWork
from mmrefine_agent.engine.services import Services, build_services
from mmrefine_agent.graph.builder import compile_graph
from mmrefine_agent.plugins_manager import Plugins, load_plugins
from mmrefine_agent.records.models import ItemResult, JudgeCallRecord, StepEvent, UsageBlock
from mmrefine_agent.types import Item


@dataclass(slots=True)
class SessionSpec:
    """What a worker needs to serve one run (sent once per worker)."""

    scope: str
    config: RunConfig
    prompts: OfficialPrompts | None
    plugin_modules: list[str]
    model_name: str


@dataclass(slots=True)
class ShardReply:
    """One finished item, the records made since the previous reply, and usage so far."""

    result: ItemResult
    steps: list[StepEvent]
    judge_calls: list[JudgeCallRecord]
    refine: UsageBlock
    judge: UsageBlock


@dataclass(slots=True)
class _Records:
    """Records made since the last reply (any item's: they go back in the order made)."""

    steps: list[StepEvent] = field(default_factory=list)
    judge_calls: list[JudgeCallRecord] = field(default_factory=list)

    def judge_call(self, entry: JudgeCallRecord | dict[str, Any]) -> None:
        """Keep one judge call (a v1 judge's dict entry is validated into a record)."""
        if not isinstance(entry, JudgeCallRecord):
            entry = JudgeCallRecord.model_validate(entry)
        self.judge_calls.append(entry)


@dataclass(slots=True)
class _Session:
    services: Services
    work: ItemWork
    records: _Records

    def reply(self, result: ItemResult) -> ShardReply:
        records = self.records
        steps, records.steps = records.steps, []
        calls, records.judge_calls = records.judge_calls, []
        return ShardReply(
            result=result,
            steps=steps,
            judge_calls=calls,
            refine=self.services.refine_totals.snapshot(),
            judge=self.services.judge_totals.snapshot(),
        )


class ShardWorker:
    """Serves items of one or more runs in this process (the body of a Ray actor)."""

    def __init__(self, limits: Any, holder: str) -> None:
        self.limits = limits
        self.holder = holder
        self.sessions: dict[str, _Session] = {}
        self._plugins: dict[tuple[str, ...], Plugins] = {}

    def where(self) -> str:
        """The host and process id of this worker (for messages)."""
        return f"{os.uname().nodename} pid {os.getpid()}"

    async def open(self, spec: SessionSpec) -> None:
        """Build a run's plugins, strategy, graph and clients (once per run)."""
        if spec.scope in self.sessions:
            return
        modules = tuple(spec.plugin_modules)
        if modules not in self._plugins:
            self._plugins[modules] = load_plugins(modules)
        plugins = self._plugins[modules]
        config = spec.config
        strategy = plugins.strategies.get(config.strategy.name)(config.strategy)
        shared = SharedLimits(
            self.limits, self.holder, spec.scope, SharedBudget(config.run.max_cost_usd)
        )
        records = _Records()
        services = build_services(
            config, plugins, spec.prompts, records.judge_call,
            budget=shared.budget, limiter=shared.limiter,
        )  # fmt: skip
        assert services.client is not None
        work = ItemWork(
            strategy=strategy,
            client=services.client,
            prompts=spec.prompts,
            judge=services.judge,
            per_round=config.judge.per_round,
            model_name=spec.model_name,
            emit_step=lambda step: records.steps.append(step.to_event()),
            graph=compile_graph(strategy),
        )
        self.sessions[spec.scope] = _Session(services, work, records)

    async def refine(self, scope: str, item: Item) -> ShardReply:
        """Refine (and judge) one item."""
        session = self.sessions[scope]
        result = await session.work.refine(item)
        return session.reply(result)

    async def judge(self, scope: str, item: Item, record: ItemResult) -> ShardReply:
        """Judge an already refined record."""
        session = self.sessions[scope]
        await session.work.judge_item(item, record)
        return session.reply(record)

    async def close(self, scope: str) -> None:
        """Close a run's backends and cache."""
        session = self.sessions.pop(scope, None)
        if session is not None:
            await session.services.aclose()
