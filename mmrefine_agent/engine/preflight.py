"""Pre-flight: checks made before any item, so a run that cannot work fails in seconds.

Each backend says what it needs (:meth:`ModelBackend.preflight`): a provider it can route to,
the key variable that provider reads, a server that answers at ``api_base``. The problems are
collected for the model and the judge and raised as one error naming each cause. Turn the
checks off with ``run.preflight: false`` (e.g. a model name newer than litellm's list).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from mmrefine_agent.engine.backend import ModelBackend
from mmrefine_agent.errors import ConfigError


def unreachable(api_base: str, timeout_s: float = 3.0) -> str | None:
    """Why ``api_base`` cannot be reached (None: a TCP connection opened)."""
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"api_base {api_base!r} is not an http(s) URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"cannot reach {parts.scheme}://{parts.hostname}:{port} ({exc.strerror or exc})"


def check_backends(roles: dict[str, ModelBackend]) -> None:
    """Raise one ConfigError listing every problem of every role's backend."""
    problems: list[str] = []
    for role, backend in roles.items():
        problems += [f"{role} ({backend.config.backend} {backend.config.name}): {p}"
                     for p in backend.preflight()]  # fmt: skip
    if problems:
        raise ConfigError(
            "pre-flight check failed, no item was run:\n  "
            + "\n  ".join(problems)
            + "\n(`--set run.preflight=false` skips these checks)"
        )
