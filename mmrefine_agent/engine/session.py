"""One session: what ``run``, ``judge``, ``refine_item`` and a Ray worker build before any item.

A session is the same few parts wherever it runs, built here and nowhere else:

1. :func:`load_data` - the configured slice of the dataset (items, the records that could not
   become items) and the official prompts;
2. :func:`check_strategy` - the strategy, its compiled graph and the tools it offers (a bad
   option, graph or tool name fails here, before anything is written);
3. :func:`open_session` - the model client and the judge (sharing the call cache, budget and
   limits) and the :class:`~mmrefine_agent.engine.item_loop.ItemWork` that refines and judges
   one item, its records sent to a :class:`Recorder`;
4. :func:`open_run_stream` - for a session with a run directory: the run files and observers
   behind one event stream, which is the session's recorder.

Nothing here is remembered between sessions: each one builds its parts from its config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmrefine_agent.config import RunConfig
from mmrefine_agent.data.base import RowProblem
from mmrefine_agent.data.datadir import PROMPTS_NAME, candidate_dirs
from mmrefine_agent.data.prompts import OfficialPrompts
from mmrefine_agent.data.run_slice import load_run_items
from mmrefine_agent.engine.client import Budget
from mmrefine_agent.engine.item_loop import ItemWork
from mmrefine_agent.engine.services import Services, build_services
from mmrefine_agent.engine.writers import RunFiles
from mmrefine_agent.errors import DataError
from mmrefine_agent.events import EventStream, RunInfo, Sink, StepFinished
from mmrefine_agent.graph.builder import compile_graph
from mmrefine_agent.graph.strategy import Strategy
from mmrefine_agent.model.backend import ModelBackend
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records.models import JudgeCallRecord, StepEvent
from mmrefine_agent.records.rundir import RunDir
from mmrefine_agent.tools.box import ToolBox, toolbox_for
from mmrefine_agent.types import Item

Limiter = Callable[[str, int], AbstractAsyncContextManager[Any]]


@dataclass(slots=True)
class SessionData:
    """The configured slice of a dataset: valid items by key, bad records, official prompts."""

    path: Path
    items: dict[str, Item]
    problems: list[RowProblem]
    prompts: OfficialPrompts | None


def load_data(config: RunConfig, plugins: Plugins) -> SessionData:
    """Load the items ``config.data`` selects (bad records are returned, never dropped)."""
    _data_dir, loaded, prompts = load_run_items(config, plugins)
    items = {item.key: item for item in loaded.items}
    return SessionData(path=loaded.path, items=items, problems=loaded.problems, prompts=prompts)


def require_prompts(config: RunConfig, plugins: Plugins, data: SessionData) -> None:
    """Refuse a session whose strategy or judge reads the official prompts, which are missing.

    The DataError names the file and every directory looked in.
    """
    if data.prompts is not None:
        return
    users = []
    if getattr(plugins.strategies.get(config.strategy.name), "uses_official_prompts", False):
        users.append(f"strategy '{config.strategy.name}'")
    if config.judge.name not in ("none", ""):
        judge = plugins.judges.get(config.judge.name)
        if getattr(judge, "uses_official_prompts", False):
            users.append(f"judge '{config.judge.name}'")
    if users:
        raise DataError(missing_prompts_message(config, " and ".join(users)))


def missing_prompts_message(config: RunConfig, users: str) -> str:
    """Which file is missing, who needs it, and every directory looked in."""
    places = [(label, path) for label, path in candidate_dirs(config.data.dir)]
    tried = "\n".join(f"  - {path} ({label})" for label, path in places)
    return (
        f"{PROMPTS_NAME} (the official MMRefine prompts) is needed by {users} but was not "
        f"found; looked in:\n{tried}\nPut it in one of these directories (or pass --data-dir)."
    )


@dataclass(slots=True)
class CheckedStrategy:
    """A strategy instance, its compiled LangGraph graph and the tools it may offer."""

    strategy: Strategy
    graph: Any
    tools: ToolBox | None = None
    """``strategy.tools`` (or the strategy's default) resolved (None: no tools offered)."""


def check_strategy(config: RunConfig, plugins: Plugins) -> CheckedStrategy:
    """Build the configured strategy, compile its graph and resolve its tools.

    A bad option, graph or tool name is a ConfigError / GraphError here.
    """
    strategy = plugins.strategies.get(config.strategy.name)(config.strategy)
    tools = toolbox_for(strategy, plugins)
    return CheckedStrategy(strategy=strategy, graph=compile_graph(strategy), tools=tools)


@dataclass(slots=True)
class Recorder:
    """Where a session's records go as they are made (a run's event stream, or lists)."""

    step: Callable[[StepEvent], None]
    judge_call: Callable[[JudgeCallRecord], None]


def as_judge_record(entry: JudgeCallRecord | dict[str, Any]) -> JudgeCallRecord:
    """A judge call as a record (a v1 judge's dict entry is validated into one)."""
    if isinstance(entry, JudgeCallRecord):
        return entry
    return JudgeCallRecord.model_validate(entry)


@dataclass(slots=True)
class Session:
    """A session's model client, judge and per-item work, and what it was built from."""

    config: RunConfig
    plugins: Plugins
    prompts: OfficialPrompts | None
    services: Services
    work: ItemWork | None
    """Refines and judges one item (None in a judging-only session)."""

    @property
    def model_name(self) -> str:
        """``backend:model`` as results record it."""
        return model_name(self.config)

    async def aclose(self) -> None:
        """Close the backends and the call cache."""
        await self.services.aclose()


def model_name(config: RunConfig) -> str:
    """``backend:model`` of the refinement model, as results record it."""
    return f"{config.model.backend}:{config.model.name}"


def open_session(
    config: RunConfig,
    plugins: Plugins,
    prompts: OfficialPrompts | None,
    recorder: Recorder,
    *,
    refine: CheckedStrategy | Literal[False] | None = None,
    backend: ModelBackend | None = None,
    judge_backend: ModelBackend | None = None,
    budget: Budget | None = None,
    limiter: Limiter | None = None,
) -> Session:
    """Build the model client, the judge and the per-item work of one session.

    ``refine``: the checked strategy to refine with (None: check it here; False: a judging-only
    session, no refinement client). ``budget`` and ``limiter`` replace this process's own (a Ray
    worker shares the driver's); ``backend``/``judge_backend`` are objects passed by a caller
    instead of the configured backends.
    """

    def judge_call(entry: JudgeCallRecord | dict[str, Any]) -> None:
        recorder.judge_call(as_judge_record(entry))

    services = build_services(
        config, plugins, prompts, judge_call,
        refine=refine is not False, backend=backend, judge_backend=judge_backend,
        budget=budget, limiter=limiter,
    )  # fmt: skip
    work = None
    if refine is not False:
        checked = refine if refine is not None else check_strategy(config, plugins)
        assert services.client is not None
        work = ItemWork(
            strategy=checked.strategy,
            client=services.client,
            prompts=prompts,
            judge=services.judge,
            per_round=config.judge.per_round,
            model_name=model_name(config),
            emit_step=lambda step: recorder.step(step.to_event()),
            graph=checked.graph,
            tools=checked.tools,
        )
    return Session(config, plugins, prompts, services, work)


@dataclass(slots=True)
class RunStream:
    """A run directory's event stream: the run files first, then observers and sinks."""

    info: RunInfo
    stream: EventStream
    files: RunFiles

    def recorder(self) -> Recorder:
        """Records made by the session become events (written, then observed)."""
        return Recorder(
            step=lambda step: self.stream.emit(StepFinished(run=self.info, step=step)),
            judge_call=lambda call: self.stream.emit(self.files.judge_call(self.info, call)),
        )

    def close(self) -> None:
        """Close the run files."""
        self.files.close()


def open_run_stream(
    run: RunDir, info: RunInfo, plugins: Plugins, sinks: Iterable[Sink] = ()
) -> RunStream:
    """Open a run directory's files and join them, the observers and ``sinks`` in one stream."""
    stream, files = RunFiles.stream(run, plugins.hook, sinks)
    return RunStream(info=info, stream=stream, files=files)
