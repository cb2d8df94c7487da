"""A run directory is data: where judge requests go, and which secret they carry, is the user's.

``mmrefine judge RUN`` builds its judge from ``RUN/config.yaml``, a file that may come from
someone else. The settings that decide where the judge's requests go or which secret they
carry - ``judge.api_base``, ``judge.endpoints``, ``judge.api_key_env``, ``judge.options`` and
any ``judge.params`` key that is not a sampling parameter (``api_base``, ``extra_headers``...) -
are used only when the person running the command restates them (``--set judge.KEY=...``),
gives their own judge section (``--config FILE``) or confirms the run's
(``--trust-run-config``); otherwise the command is refused, naming them. A judge that calls no
model (``offline``) sends nothing, so nothing needs confirming.
"""

from __future__ import annotations

from typing import Any

from mmrefine_agent.config import JudgeConfig, RunConfig, parse_override
from mmrefine_agent.errors import ConfigError

ROUTING = ("api_base", "endpoints", "api_key_env", "options")
"""Judge settings that decide where requests go or which secret they carry."""

SAMPLING_PARAMS = frozenset(
    {
        "temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "seed",
        "stop", "n", "presence_penalty", "frequency_penalty", "repetition_penalty",
        "logprobs", "top_logprobs", "logit_bias", "response_format", "reasoning_effort",
    }
)  # fmt: skip
"""``judge.params`` keys that only shape the reply (anything else may route or authenticate)."""


def _restated(overrides: list[str]) -> set[str]:
    """The dotted keys the person running the command set (``judge.params.x`` and parents)."""
    keys: set[str] = set()
    for text in overrides:
        parts, _value = parse_override(text)
        keys.add(".".join(parts))
    return keys


def _is_restated(key: str, restated: set[str]) -> bool:
    parts = key.split(".")
    return any(".".join(parts[:n]) in restated for n in range(1, len(parts) + 1))


def untrusted_settings(stored: RunConfig, overrides: list[str]) -> list[str]:
    """Routing settings the run directory sets (away from the defaults) and nobody restated."""
    restated = _restated(overrides)
    default = JudgeConfig()
    found: list[str] = []
    for name in ROUTING:
        value: Any = getattr(stored.judge, name)
        if value == getattr(default, name):
            continue
        if isinstance(value, dict):
            keys = [f"judge.{name}.{k}" for k in value]
            found += [k for k in keys if not _is_restated(k, restated)]
        elif not _is_restated(f"judge.{name}", restated):
            shown = f"={value}" if isinstance(value, str) else ""
            found.append(f"judge.{name}{shown}")
    for key in stored.judge.params:
        if key not in SAMPLING_PARAMS and not _is_restated(f"judge.params.{key}", restated):
            found.append(f"judge.params.{key}")
    return found


def check_run_judge(
    origin: str, stored: RunConfig, overrides: list[str], *, needs_model: bool
) -> None:
    """Refuse a judge whose requests would go where only the run directory says (see above)."""
    if not needs_model:
        return
    found = untrusted_settings(stored, overrides)
    if found:
        shown = ", ".join(found)
        if len(shown) > 300:
            shown = shown[:300] + "..."
        raise ConfigError(
            f"{origin} sets where the judge's requests go or which key they carry ({shown}); "
            "a run directory is data, so they are not used: restate them (--set "
            "judge.KEY=...), give your own judge section (--config FILE) or confirm the run's "
            "(--trust-run-config)"
        )
