"""What every dataset plugin shares: the ``Dataset`` base, loaded items, and bad records.

A dataset is a small class registered through ``mmrefine_register_datasets`` and chosen with
``data.name``. Its :meth:`Dataset.load` returns the configured slice as typed :class:`Item`
objects plus the records that could not become items (:class:`RowProblem`, which a run turns
into ``data_error`` results; never silently dropped).

Step numbers are 1-based in the whole project (see :class:`~mmrefine_agent.types.Item`); a
dataset converts its source's convention when it loads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mmrefine_agent.errors import DataError
from mmrefine_agent.types import Item

if TYPE_CHECKING:
    from mmrefine_agent.config import DataConfig

STEP_BASE = 1
"""The first step of a solution is step 1 (in items, prompts, parsed answers and metrics)."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A record that could not become an item: which file, record, key and field, and why.

    ``row`` is the record's position in its file (the parquet row index, or the 1-based line
    of a JSONL file); ``record`` says where it is in words when a number alone would not
    ("line 12", "question 855fe031-...[2]").
    """

    file: str
    row: int
    key: str
    field: str
    message: str
    record: str = ""

    def __str__(self) -> str:
        where = self.record or f"row {self.row}"
        return f"{self.file}: {where} (key {self.key}): field '{self.field}': {self.message}"


@dataclass(slots=True)
class LoadedData:
    """Valid items plus the records that failed validation (never silently dropped)."""

    path: Path
    items: list[Item]
    problems: list[RowProblem] = field(default_factory=list)

    def raise_on_problems(self) -> None:
        """Raise a DataError naming every bad record, if there is any."""
        if self.problems:
            lines = "\n".join(f"  {p}" for p in self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            raise DataError(f"{len(self.problems)} bad row(s):\n{lines}{more}")


def number_steps(steps: Sequence[str]) -> str:
    """A solution's steps as one text, one ``Step N: ...`` line per step (1-based)."""
    return "\n".join(f"Step {number}: {text}" for number, text in enumerate(steps, STEP_BASE))


class Dataset(ABC):
    """Base class of dataset plugins: a name, a description, the filters it supports, a loader.

    Subclasses set the class variables and implement :meth:`load`. Instances are made with no
    arguments, once per load; keep imports of heavy libraries inside :meth:`load`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    filter_fields: ClassVar[tuple[str, ...]] = ("label", "keys", "problem", "modality")
    """The ``data.filter`` keys this dataset understands (others are a DataError)."""
    location: ClassVar[str] = ""
    """A path relative to the data directory that must exist (how the directory is found)."""

    @abstractmethod
    def load(self, data_dir: Path, config: DataConfig) -> LoadedData:
        """The slice ``config`` selects (filters, ``balanced``, ``limit``), validated."""

    def source(self, data_dir: Path, config: DataConfig) -> Path:
        """The file or folder to read: ``data.path`` if given, else ``location`` in the dir."""
        if config.path:
            return Path(config.path).expanduser()
        return data_dir / self.location

    def check_filters(self, filters: dict[str, Any]) -> None:
        """Raise a DataError naming any filter key this dataset does not support."""
        unsupported = sorted(set(filters) - set(self.filter_fields))
        if unsupported:
            raise DataError(
                f"dataset '{self.name}' cannot filter on {unsupported}; "
                f"it supports data.filter.{{{', '.join(self.filter_fields)}}}"
            )
