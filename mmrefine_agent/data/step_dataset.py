"""The shared loader of step-labelled benchmarks (``<data dir>/step_benchmarks/<folder>/``).

A subclass lists its raw records (:meth:`StepDataset.records`) with the facts filters need
(label, category, error type, source, problem), read leniently, and turns one selected record
into an :class:`Item` (:meth:`StepDataset.build`, raising :class:`RecordError` naming the bad
field). Selection works as for MMRefine: filter on the raw facts, order (``balanced``:
round-robin over category x label), cut at ``limit``, then validate, so a bad record is
reported exactly when it belongs to the configured slice.
"""

from __future__ import annotations

import itertools
import json
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mmrefine_agent.data.base import Dataset, LoadedData, RowProblem
from mmrefine_agent.errors import DataError
from mmrefine_agent.types import Item

if TYPE_CHECKING:
    from mmrefine_agent.config import DataConfig

STEP_BENCHMARKS = "step_benchmarks"
STEP_FILTERS = ("label", "category", "error_type", "source", "keys", "problem", "modality")


class RecordError(ValueError):
    """A record field that cannot be used: which field, and why."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record of a source file, before validation."""

    file: Path
    row: int
    """The 1-based line of a JSONL file, or the record's position in a JSON file."""
    where: str
    """Where the record is, in words ("line 12", "question <uuid>[2]")."""
    key: str
    data: Any
    facts: dict[str, str | None] = field(default_factory=dict)
    """label, category, error_type, source and problem as far as the raw record tells (and
    ``modality``, ``image`` for a record with an image; ``text`` when not given)."""


def text_field(data: Mapping[str, Any], name: str, *, empty_ok: bool = False) -> str:
    """A required string field (non-empty unless ``empty_ok``)."""
    value = data.get(name)
    if not isinstance(value, str):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise RecordError(name, f"expected a string, got {found}")
    if not empty_ok and not value.strip():
        raise RecordError(name, "empty")
    return value


def text_list(data: Mapping[str, Any], name: str, *, encoded_ok: bool = False) -> list[str]:
    """A required, non-empty list of strings (also as a JSON-encoded string, if ``encoded_ok``)."""
    value = data.get(name)
    if encoded_ok and isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RecordError(name, f"not a JSON-encoded list: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(name, "expected a list of strings")
    if not value:
        raise RecordError(name, "empty list")
    return value


def step_in_range(number: int, n_steps: int, name: str) -> int:
    """``number`` (1-based) if a solution of ``n_steps`` steps has such a step, else RecordError."""
    if not 1 <= number <= n_steps:
        raise RecordError(name, f"first wrong step {number} is outside steps 1..{n_steps}")
    return number


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(1-based line, parsed value) per non-blank line; an unparsable line yields a RecordError."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RecordError("(line)", f"not valid JSON: {exc}")


def _matches(record: RawRecord, filters: Mapping[str, Any]) -> bool:
    facts = {"modality": "text", **record.facts, "keys": record.key}
    for name, wanted in filters.items():
        allowed = {wanted} if isinstance(wanted, str) else set(wanted)
        if facts.get(name) not in allowed:
            return False
    return True


def why_nothing(records: Iterable[RawRecord], filters: Mapping[str, Any]) -> str:
    """Which filter values no record has (or: the filters match nothing together)."""
    from mmrefine_agent.data.mmrefine import missing_values

    facts = ({"modality": "text", **r.facts, "keys": r.key} for r in records)
    return missing_values(facts, filters)


def round_robin(records: Sequence[RawRecord], on: Sequence[str]) -> list[RawRecord]:
    """Interleave groups of records (by the facts ``on``), keeping file order in each group."""
    groups: dict[tuple[str, ...], list[RawRecord]] = {}
    for record in records:
        groups.setdefault(tuple(str(record.facts.get(n)) for n in on), []).append(record)
    queues = [groups[k] for k in sorted(groups)]
    ordered: list[RawRecord] = []
    for position in range(max((len(q) for q in queues), default=0)):
        ordered.extend(q[position] for q in queues if position < len(q))
    return ordered


class StepDataset(Dataset):
    """A benchmark whose solutions come as steps with a labelled first wrong step."""

    folder: ClassVar[str] = ""
    filter_fields: ClassVar[tuple[str, ...]] = STEP_FILTERS
    balance_on: ClassVar[tuple[str, ...]] = ("category", "label")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.folder:
            cls.location = f"{STEP_BENCHMARKS}/{cls.folder}"

    @abstractmethod
    def records(self, folder: Path) -> Iterable[RawRecord]:
        """Every raw record of the dataset's files, in a stable order."""

    @abstractmethod
    def build(self, record: RawRecord) -> Item:
        """The validated item of one record; raises RecordError naming the bad field."""

    def load(self, data_dir: Path, config: DataConfig) -> LoadedData:
        """Filter, order and cut the raw records, then validate the selected ones."""
        folder = self.source(data_dir, config)
        if not folder.exists():
            raise DataError(f"{folder}: dataset file or folder not found (dataset '{self.name}')")
        filters = config.filter.model_dump(exclude_none=True)
        self.check_filters(filters)
        matching = (r for r in self.records(folder) if _matches(r, filters))
        if config.balanced:
            selected = round_robin(list(matching), self.balance_on)[: config.limit]
        else:  # read no further than needed: a small slice starts fast
            selected = list(itertools.islice(matching, config.limit))
        if filters and not selected:
            raise DataError(
                f"{folder}: no record matches the filter: "
                f"{why_nothing(self.records(folder), filters)}"
            )
        loaded = LoadedData(path=folder, items=[])
        seen: set[str] = set()
        for record in selected:
            duplicate = False
            try:
                if isinstance(record.data, RecordError):
                    raise record.data
                item = self.build(record)
                duplicate = item.key in seen
                if duplicate:  # recorded under its own key: it never shadows the kept item
                    raise RecordError("(key)", f"duplicate item key {item.key!r} (first kept)")
            except RecordError as exc:
                loaded.problems.append(
                    RowProblem(
                        file=str(record.file),
                        row=record.row,
                        key=f"{record.key}#row{record.row}" if duplicate else record.key,
                        field=exc.field,
                        message=exc.message,
                        record=record.where,
                    )
                )
                continue
            seen.add(item.key)
            loaded.items.append(item)
        return loaded
