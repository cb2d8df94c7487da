"""The local executor: every item in the driver's asyncio loop, one process."""

from __future__ import annotations

import asyncio

from mmrefine_agent.engine.executors.base import ExecutorJob
from mmrefine_agent.engine.item_loop import ItemWork
from mmrefine_agent.records.models import ItemResult


class LocalExecutor:
    """Refines and judges in this process; model calls overlap up to the configured limits."""

    name = "local"

    async def execute(self, job: ExecutorJob) -> None:
        """Run the job's items concurrently (``job.slots`` at a time)."""
        client = job.services.client
        assert client is not None
        work = ItemWork(
            strategy=job.strategy,
            client=client,
            prompts=job.prompts,
            judge=job.services.judge,
            per_round=job.config.judge.per_round,
            model_name=job.model_name,
            emit_step=lambda step: job.emit_step(step.to_event()),
            graph=job.graph,
        )
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
