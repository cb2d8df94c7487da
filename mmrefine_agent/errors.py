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
