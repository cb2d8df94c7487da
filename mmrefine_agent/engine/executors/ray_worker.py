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
from mmrefine_agent.engine.session import Recorder, Session, open_session
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

    def recorder(self) -> Recorder:
        """The session's recorder: every record is kept for the next reply."""
        return Recorder(
            step=lambda step: self.steps.append(step),
            judge_call=lambda call: self.judge_calls.append(call),
        )


@dataclass(slots=True)
class _Served:
    session: Session
    records: _Records

    def reply(self, result: ItemResult) -> ShardReply:
        records, services = self.records, self.session.services
        steps, records.steps = records.steps, []
        calls, records.judge_calls = records.judge_calls, []
        return ShardReply(
            result=result,
            steps=steps,
            judge_calls=calls,
            refine=services.refine_totals.snapshot(),
            judge=services.judge_totals.snapshot(),
        )

    @property
    def work(self) -> ItemWork:
        assert self.session.work is not None  # workers serve refining sessions
        return self.session.work


class ShardWorker:
    """Serves items of one or more runs in this process (the body of a Ray actor).

    ``plugins``: plugins already loaded in this process, used for every run it serves (the
    local process executor's driver passes its own); else each run's modules are loaded.
    """

    def __init__(self, limits: Any, holder: str, plugins: Plugins | None = None) -> None:
        self.limits = limits
        self.holder = holder
        self.sessions: dict[str, _Served] = {}
        self._plugins: dict[tuple[str, ...], Plugins] = {}
        self._loaded = plugins

    def where(self) -> str:
        """The host and process id of this worker (for messages)."""
        return f"{os.uname().nodename} pid {os.getpid()}"

    async def open(self, spec: SessionSpec) -> None:
        """Build a run's plugins, strategy, graph and clients (once per run)."""
        if spec.scope in self.sessions:
            return
        modules = tuple(spec.plugin_modules)
        if self._loaded is not None:
            plugins = self._loaded
        else:
            if modules not in self._plugins:
                self._plugins[modules] = load_plugins(modules)
            plugins = self._plugins[modules]
        config = spec.config
        shared = SharedLimits(
            self.limits, self.holder, spec.scope, SharedBudget(config.run.max_cost_usd)
        )
        records = _Records()
        session = open_session(
            config, plugins, spec.prompts, records.recorder(),
            budget=shared.budget, limiter=shared.limiter,
        )  # fmt: skip
        self.sessions[spec.scope] = _Served(session, records)

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
            await session.session.aclose()
