"""Pre-flight: checks made before any item, so a run that cannot work fails in seconds.

Each backend says what it needs (:meth:`ModelBackend.preflight`): a provider it can route to,
the key variable that provider reads, a server that answers at ``api_base``. The problems are
collected for the model and the judge and raised as one error naming each cause. Turn the
checks off with ``run.preflight: false`` (e.g. a model name newer than litellm's list).
"""

from __future__ import annotations

from collections.abc import Sequence

from mmrefine_agent.errors import ConfigError
from mmrefine_agent.model.backend import ModelBackend


def check_backends(roles: dict[str, ModelBackend], *, tools: Sequence[str] = ()) -> None:
    """Raise one ConfigError listing every problem of every role's backend.

    With ``tools`` (the strategy offers them), the model's backend must support tool calls.
    """
    problems: list[str] = []
    for role, backend in roles.items():
        found = backend.preflight()
        if role == "model" and tools:
            why = backend.tool_problem()
            if why:
                found.append(f"strategy.tools ({', '.join(tools)}) cannot be offered: {why}")
        problems += [f"{role} ({backend.config.backend} {backend.config.name}): {p}"
                     for p in found]  # fmt: skip
    if problems:
        raise ConfigError(
            "pre-flight check failed, no item was run:\n  "
            + "\n  ".join(problems)
            + "\n(`--set run.preflight=false` skips these checks)"
        )
