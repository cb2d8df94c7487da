"""Test plugins for the process executor: openai_compat backends that tell where they ran.

``marks_pid`` touches ``options.pid_dir/<pid>`` on every call (which processes served items);
in the process ``options.driver_pid`` its calls wait until a worker process has made one (so
a worker serves items however slowly it starts);
``dies_in_worker`` kills its own process (SIGKILL) on its first call in any process other than
``options.driver_pid``, once (``options.marker`` is made just before dying); the driver's calls
wait for that.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from mmrefine_agent import hookimpl
from mmrefine_agent.types import ModelRequest, ModelResponse
from mmrefine_plugins.backends.openai_compat import OpenAICompatBackend


class MarksPid(OpenAICompatBackend):
    """openai_compat that leaves its process id in a directory."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        pids = Path(str(self.config.options["pid_dir"]))
        (pids / str(os.getpid())).touch()
        driver = str(self.config.options.get("driver_pid", ""))
        deadline = time.monotonic() + 120
        while str(os.getpid()) == driver and time.monotonic() < deadline:
            if any(p.name != driver for p in pids.iterdir()):
                break
            await asyncio.sleep(0.05)
        return await super().complete(request)


class DiesInWorker(OpenAICompatBackend):
    """openai_compat whose first call in a worker process kills that process."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        marker = Path(str(self.config.options["marker"]))
        if os.getpid() != int(self.config.options["driver_pid"]):
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
        else:  # the driver's calls wait for the worker to die (so one surely serves items)
            deadline = time.monotonic() + 120
            while not marker.exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        return await super().complete(request)


@hookimpl
def mmrefine_register_backends(register) -> None:  # type: ignore[no-untyped-def]
    register("marks_pid", MarksPid)
    register("dies_in_worker", DiesInWorker)
