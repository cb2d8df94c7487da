"""One-line warnings from the observers, for the person running (stderr, through rich)."""

from __future__ import annotations

from functools import cache

from rich.console import Console
from rich.markup import escape

from mmrefine_agent import scrub_text


@cache
def _console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def warn(observer: str, message: str) -> None:
    """Print ``warning: OBSERVER: MESSAGE`` (credentials masked) on stderr."""
    _console().print(f"[yellow]warning:[/] {observer}: {escape(scrub_text(message))}")


def say(observer: str, message: str) -> None:
    """Print ``OBSERVER: MESSAGE`` on stderr (where a run went)."""
    _console().print(f"{observer}: {escape(scrub_text(message))}")


def missing_extra(observer: str, package: str, exc: ImportError) -> None:
    """The observer is configured but its extra is not installed: say how to get it."""
    warn(
        observer,
        f"observers.{observer} is set but {package} cannot be imported ({exc}); install it "
        f"with: pip install 'mmrefine-agent[{observer}]'. This run goes on without it.",
    )
