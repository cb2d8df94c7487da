"""A test plugin: the openai_compat backend, except that the process serving it dies (SIGKILL)
the first time it is asked about an item whose prompt holds ``options.die_on``.

``options.marker`` names a file made just before dying, so the process that replaces it (and a
resumed run) does not die again. Used to kill a Ray worker mid-item.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from mmrefine_agent import hookimpl
from mmrefine_agent.types import ModelRequest, ModelResponse
from mmrefine_plugins.backends.openai_compat import OpenAICompatBackend


class DiesOnce(OpenAICompatBackend):
    """openai_compat that kills its own process once."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        marker = Path(str(self.config.options["marker"]))
        needle = str(self.config.options["die_on"])
        text = "".join(m.text for m in request.messages)
        if needle in text and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return await super().complete(request)


@hookimpl
def mmrefine_register_backends(register) -> None:  # type: ignore[no-untyped-def]
    register("dies_once", DiesOnce)
