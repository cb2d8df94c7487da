"""The base of every record: typed fields, a schema version, dict-style reads for v1 code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
"""Version 3 (mmrefine-agent 0.3) added tool calls and runs to the step records; versions 1
and 2 read as before (the new fields are optional)."""

FailureKind = Literal["data_error", "strategy_error", "backend_error", "judge_error", "budget"]
FAILURE_KINDS: tuple[str, ...] = (
    "data_error",
    "strategy_error",
    "backend_error",
    "judge_error",
    "budget",
)
Status = Literal["ok", "data_error", "strategy_error", "backend_error", "judge_error", "budget"]


class Part(BaseModel):
    """Base of every record model: typed, with dict-style read access for v1 code."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    def __getitem__(self, name: str) -> Any:
        """Dict-style read access, so observers written against v1 dict records keep working."""
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        """Dict-style ``get`` (v1 compatibility)."""
        return getattr(self, name, default)


class Record(Part):
    """Base of every top-level record: a schema version; unknown (newer) fields are ignored."""

    version: int = SCHEMA_VERSION


def rates_in_percent(rates: dict[str, float | None]) -> dict[str, float | None]:
    """Rates stored as fractions (0..1; RefScore -1..1), in percent as the tables print them."""
    return {name: None if value is None else 100 * value for name, value in rates.items()}


def intervals_in_percent(ci95: dict[str, list[float] | None]) -> dict[str, list[float] | None]:
    """95% intervals stored as fractions, in percent (the unit of the printed tables)."""
    return {
        name: None if bounds is None else [100 * bound for bound in bounds]
        for name, bounds in ci95.items()
    }
