"""Exception types. Each carries a message meant to be shown to a person as is."""

from __future__ import annotations


class MMRefineError(Exception):
    """Base class for errors the CLI reports without a traceback."""


class ConfigError(MMRefineError):
    """A config file or ``--set`` override is invalid (the message names the key)."""


class DataError(MMRefineError):
    """The benchmark data is missing or a row is malformed (the message names file, row, field)."""


class PluginError(MMRefineError):
    """A plugin failed to load, or registered a name twice, or a name is unknown."""


class ModelCallError(MMRefineError):
    """A model call failed after its retries."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RunDirError(MMRefineError):
    """A run directory is missing, unreadable, or belongs to a different config."""


class NodeFailed(Exception):
    """Plugin code raised inside one item's graph (a node or a router).

    The engine turns it into a failed item (``strategy_error``) naming the node and the
    exception; the traceback is kept in the step record, never shown on the terminal.
    """

    def __init__(self, node: str, error: BaseException) -> None:
        super().__init__(f"{node}: {type(error).__name__}: {error}")
        self.node = node
        self.error = error


class RouteError(MMRefineError):
    """A router returned a destination that is not one of its declared edges."""
