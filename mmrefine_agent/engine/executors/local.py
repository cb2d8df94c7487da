"""The local executor: every item in the driver's asyncio loop, one process."""

from __future__ import annotations

import asyncio

from mmrefine_agent.engine.executors.base import ExecutorJob
from mmrefine_agent.records.models import ItemResult


class LocalExecutor:
    """Refines and judges in this process; model calls overlap up to the configured limits."""

    name = "local"

    async def execute(self, job: ExecutorJob) -> None:
        """Run the job's items concurrently (``job.slots`` at a time)."""
        work = job.session.work
        assert work is not None  # a refining session
        slots = asyncio.Semaphore(job.slots)

        async def refine(key: str) -> None:
            async with slots:
                if not job.stopped():  # most items failing the same way: stop sending more
                    job.finished(await work.refine(job.items[key]))

        async def rejudge(record: ItemResult) -> None:
            async with slots:
                await work.judge_item(job.items[record.key], record)
                job.finished(record)

        await asyncio.gather(*(refine(k) for k in job.todo), *(rejudge(r) for r in job.to_judge))
