"""What an executor is given (one session's work) and how one is chosen from the config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mmrefine_agent.config import RunConfig
from mmrefine_agent.data.prompts import OfficialPrompts
from mmrefine_agent.plugins_manager import Plugins
from mmrefine_agent.records.models import ItemResult, JudgeCallRecord, StepEvent
from mmrefine_agent.types import Item

if TYPE_CHECKING:
    from mmrefine_agent.engine.services import Services
    from mmrefine_agent.engine.session import Session


@dataclass(slots=True)
class ExecutorJob:
    """One session's work and the driver's callbacks (all called in the driver's loop).

    ``finished`` receives each item's final record, ``emit_step`` and ``emit_judge_call`` the
    records made on the way; ``stopped`` says the run stopped early (send no more items);
    ``report`` adds a one-line problem to the session's errors.
    """

    session: Session
    items: dict[str, Item]
    todo: list[str]
    to_judge: list[ItemResult]
    finished: Callable[[ItemResult], None]
    emit_step: Callable[[StepEvent], None]
    emit_judge_call: Callable[[JudgeCallRecord], None]
    stopped: Callable[[], bool]
    report: Callable[[str], None]
    scope: str = "run"
    """Names this session among others sharing an executor (a sweep's cell)."""
    injected: list[str] = field(default_factory=list)
    """Backends passed as objects (``arun(backend=...)``), not built from the config."""

    @property
    def config(self) -> RunConfig:
        """The session's config."""
        return self.session.config

    @property
    def plugins(self) -> Plugins:
        """The session's plugins."""
        return self.session.plugins

    @property
    def prompts(self) -> OfficialPrompts | None:
        """The official prompts (None when the dataset and strategy need none)."""
        return self.session.prompts

    @property
    def services(self) -> Services:
        """The session's model client, judge, cache and budget."""
        return self.session.services

    @property
    def model_name(self) -> str:
        """``backend:model`` as results record it."""
        return self.session.model_name

    @property
    def slots(self) -> int:
        """Items in flight at once (enough to keep ``run.concurrency`` calls busy)."""
        return max(4, self.config.run.concurrency * 2)


class Executor(Protocol):
    """Refines and judges a job's items; returns when every item is finished or lost."""

    name: str

    async def execute(self, job: ExecutorJob) -> None:
        """Run the job: every finished item through ``job.finished``, in the driver."""
        ...


def make_executor(
    config: RunConfig, plugins: Plugins | None = None, *, prestart: bool = False
) -> Executor:
    """The executor ``run.executor`` names (Ray is imported only for ``ray``).

    ``local`` with ``run.processes`` above one (or ``auto``) is the process executor;
    ``prestart``: its worker processes may start now, while the caller loads the data (a
    fresh run whose backends are built from the config).
    """
    if config.run.executor == "ray":
        from mmrefine_agent.engine.executors.ray_driver import RayExecutor

        return RayExecutor(config)
    if config.run.processes != 1:
        from mmrefine_agent.engine.executors.processes import ProcessExecutor

        return ProcessExecutor(config, plugins, prestart=prestart)
    from mmrefine_agent.engine.executors.local import LocalExecutor

    return LocalExecutor()


async def expect_items(executor: Executor, items: int) -> None:
    """Tell an executor how many items the run has (it may end what it started too early)."""
    expect = getattr(executor, "expect", None)
    if expect is not None:
        await expect(items)


async def close_executor(executor: Executor) -> None:
    """End what an executor started and still holds (worker processes started early)."""
    close = getattr(executor, "aclose", None)
    if close is not None:
        await close()
