"""Backend options checked against what each backend declares (``options_doc``).

``model.options`` go to the model's backend and ``judge.options`` to the judge's (when the
judge calls a model). A backend that declares ``options_doc`` refuses any other key with a
ConfigError naming it (``model.options.text_onyl: backend 'litellm' has no such option; did
you mean 'text_only'?``); one that declares none accepts anything, as before. Checked when a
backend is made, and by :func:`check_options` before a session writes anything.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

from mmrefine_agent.errors import ConfigError

if TYPE_CHECKING:
    from mmrefine_agent.config import RunConfig
    from mmrefine_agent.plugins_manager import Plugins


def declared_backend_options(backend: type) -> dict[str, str] | None:
    """The options ``backend`` itself declares, or None when it declares none (not inherited)."""
    declared = vars(backend).get("options_doc")
    return dict(declared) if isinstance(declared, dict) else None


def check_backend_options(
    backend: type, options: dict[str, Any], name: str, where: str = "model"
) -> None:
    """Refuse ``{where}.options`` keys the backend registered as ``name`` does not declare.

    A ConfigError naming the key, with a did-you-mean and the declared options.
    """
    known = declared_backend_options(backend)
    if known is None:
        return
    unknown = sorted(set(options) - set(known))
    if unknown:
        close = get_close_matches(unknown[0], list(known), n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        else:  # e.g. a config written for another backend, whose options came along
            hint = (
                f"; options meant for another backend? replace them: --set '{where}.options={{}}'"
            )
        raise ConfigError(
            f"{where}.options.{unknown[0]}: backend {name!r} has no such option{hint} "
            f"(options: {', '.join(sorted(known)) or 'none'})"
        )


def check_options(
    config: RunConfig, plugins: Plugins, *, model: bool = True, judge: bool = True
) -> None:
    """Refuse unknown ``model.options`` / ``judge.options`` keys of a config.

    ``model=False`` / ``judge=False``: that side is not checked (e.g. a backend instance
    passed in by the caller, or a judge-only session).
    """
    if model:
        name = config.model.backend
        check_backend_options(plugins.backends.get(name), config.model.options, name, "model")
    if judge and config.judge.name not in ("none", ""):
        judge_cls = plugins.judges.get(config.judge.name)
        if getattr(judge_cls, "needs_model", False):
            name = config.judge.backend
            check_backend_options(plugins.backends.get(name), config.judge.options, name, "judge")
