"""Load MMRefine rows from parquet into typed, validated :class:`Item` objects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrefine_agent.data.base import LoadedData, RowProblem
from mmrefine_agent.data.datadir import PARQUET_NAME
from mmrefine_agent.data.image_checks import ImageChecks
from mmrefine_agent.errors import DataError
from mmrefine_agent.types import Image, Item

REQUIRED_TEXT = ("id", "question", "answer", "initial_solution", "solution_source")
LABELS = ("correct", "incorrect")
FILTER_FIELDS = ("modality", "error_type", "label", "source", "keys", "problem")
MMREFINE_FILTER_FIELDS = FILTER_FIELDS
"""The ``data.filter`` keys the MMRefine dataset understands."""
MMREFINE_PARQUET_NAME = PARQUET_NAME
"""The MMRefine parquet file's name inside the data directory."""

__all__ = [
    "FILTER_FIELDS",
    "MMREFINE_FILTER_FIELDS",
    "MMREFINE_PARQUET_NAME",
    "LoadedData",
    "RowProblem",
    "balanced_order",
    "count_by",
    "decode_image",
    "load_items",
    "load_mmrefine_items",
    "read_rows",
    "row_to_item",
]


def decode_image(data: bytes) -> Image:
    """Decode and validate image bytes with Pillow; raises ValueError on undecodable data."""
    return Image.from_bytes(data)


def _text(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def row_to_item(
    row: dict[str, Any], *, file: str, index: int, checks: ImageChecks | None = None
) -> Item | RowProblem:
    """Validate one parquet row; return an Item or a RowProblem naming the bad field.

    ``checks`` remembers the images that decoded (data/image_checks.py).
    """
    raw_id = row.get("id")
    key = f"{raw_id}_{row.get('solution_source')}"

    def problem(field_name: str, message: str) -> RowProblem:
        return RowProblem(file=file, row=index, key=key, field=field_name, message=message)

    texts: dict[str, str] = {}
    for name in REQUIRED_TEXT:
        try:
            value = _text(row, name)
        except TypeError as exc:
            return problem(name, str(exc))
        if value is None or (name != "answer" and not value.strip()):
            return problem(name, "missing or empty")
        texts[name] = value
    label = row.get("solution_label")
    if label not in LABELS:
        return problem("solution_label", f"must be one of {LABELS}, got {label!r}")
    try:
        feedback = _text(row, "reference_feedback")
        error_type = _text(row, "error_type")
    except TypeError as exc:
        return problem("reference_feedback/error_type", str(exc))
    if label == "incorrect" and not (feedback and feedback.strip()):
        return problem("reference_feedback", "missing for an incorrect solution")
    image: Image | None = None
    raw_image = row.get("image")
    if raw_image is not None:
        data = raw_image.get("bytes") if isinstance(raw_image, dict) else None
        if not isinstance(data, bytes | bytearray):
            return problem("image", "has no bytes")
        try:
            raw = bytes(data)
            image = checks.decode(raw, decode_image) if checks is not None else decode_image(raw)
        except ValueError as exc:
            return problem("image", str(exc))
    options_raw = row.get("options") or []
    if not isinstance(options_raw, list | tuple) or not all(
        isinstance(o, str) for o in options_raw
    ):
        return problem("options", "must be a list of strings")
    meta = row.get("meta") or {}
    return Item(
        key=key,
        id=texts["id"],
        question=texts["question"],
        options=tuple(options_raw),
        image=image,
        answer=texts["answer"],
        initial_solution=texts["initial_solution"],
        label=label,
        reference_feedback=feedback,
        error_type=error_type,
        source=texts["solution_source"],
        meta=dict(meta) if isinstance(meta, dict) else {},
    )


def row_facts(row: dict[str, Any]) -> dict[str, Any]:
    """The values a row is filtered on, by filter name."""
    return {
        "modality": "image" if row.get("image") is not None else "text",
        "error_type": row.get("error_type"),
        "label": row.get("solution_label"),
        "source": row.get("solution_source"),
        "keys": f"{row.get('id')}_{row.get('solution_source')}",
        "problem": row.get("id"),
    }


def _matches(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    def allowed(name: str) -> set[str] | None:
        value = filters.get(name)
        if value is None:
            return None
        return {value} if isinstance(value, str) else set(value)

    for name, actual in row_facts(row).items():
        wanted = allowed(name)
        if wanted is not None and actual not in wanted:
            return False
    return True


def _why_nothing(rows: Sequence[dict[str, Any]], filters: dict[str, Any]) -> str:
    """Which filter values exist in no row (or: the combination matches nothing)."""
    return missing_values((row_facts(row) for row in rows), filters)


def missing_values(facts: Iterable[Mapping[str, Any]], filters: Mapping[str, Any]) -> str:
    """Which filter values no item has (from each item's filter facts), in one line."""
    values: dict[str, set[str]] = {}
    for fact in facts:
        for name, value in fact.items():
            values.setdefault(name, set()).add(str(value))
    problems = []
    for name, wanted in filters.items():
        asked = [wanted] if isinstance(wanted, str) else list(wanted)
        missing = [w for w in asked if str(w) not in values.get(name, set())]
        if missing:
            known = sorted(values.get(name, set()) - {"None"})
            shown = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
            problems.append(f"data.filter.{name}: no item has {missing} (values: {shown})")
    return "; ".join(problems) or "the filters match no item together"


def balanced_order(rows: Sequence[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """Round-robin over (modality, label) groups, keeping file order inside each group."""
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for index, row in rows:
        group = (
            "image" if row.get("image") is not None else "text",
            str(row.get("solution_label")),
        )
        groups.setdefault(group, []).append((index, row))
    ordered: list[tuple[int, dict[str, Any]]] = []
    queues = [groups[k] for k in sorted(groups)]
    position = 0
    while any(position < len(q) for q in queues):
        for queue in queues:
            if position < len(queue):
                ordered.append(queue[position])
        position += 1
    return ordered


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Read every parquet row as a dict; raises DataError naming the file on failure."""
    import pyarrow.parquet as pq

    try:  # one file: ParquetFile reads it without importing pyarrow's dataset layer
        table = pq.ParquetFile(path).read()
    except Exception as exc:  # pyarrow raises several unrelated types
        raise DataError(f"{path}: cannot read parquet: {exc}") from exc
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def load_items(
    data_dir: Path,
    *,
    filters: dict[str, Any] | None = None,
    limit: int | None = None,
    balanced: bool = False,
    parquet: Path | None = None,
) -> LoadedData:
    """Load, filter, order and validate items. Bad rows are returned, not raised."""
    path = parquet or (data_dir / PARQUET_NAME)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    unknown = set(filters or {}) - set(FILTER_FIELDS)
    if unknown:
        raise DataError(f"unknown data filter(s) {sorted(unknown)}; known: {list(FILTER_FIELDS)}")
    rows = read_rows(path)
    selected = [(i, r) for i, r in enumerate(rows) if _matches(r, filters or {})]
    if filters and not selected and rows:
        raise DataError(f"{path}: no row matches the filter: {_why_nothing(rows, filters)}")
    if balanced:
        selected = balanced_order(selected)
    if limit is not None:
        selected = selected[:limit]
    loaded = LoadedData(path=path, items=[])
    seen: set[str] = set()
    with ImageChecks() as checks:
        for index, row in selected:
            result = row_to_item(row, file=str(path), index=index, checks=checks)
            if isinstance(result, RowProblem):
                loaded.problems.append(result)
                continue
            if result.key in seen:  # recorded under its own key: never shadows the kept item
                loaded.problems.append(
                    RowProblem(
                        str(path),
                        index,
                        f"{result.key}#row{index}",
                        "id/solution_source",
                        f"duplicate item key {result.key!r} (the first row with it is kept)",
                    )
                )
                continue
            seen.add(result.key)
            loaded.items.append(result)
    return loaded


load_mmrefine_items = load_items
"""Public name of :func:`load_items` (what the ``mmrefine`` dataset plugin calls)."""


def count_by(items: Iterable[Item], attribute: str) -> dict[str, int]:
    """Count items by an attribute (``label``, ``error_type``, ``source``, ``modality``)."""
    counts: dict[str, int] = {}
    for item in items:
        value = getattr(item, attribute)
        name = "-" if value is None else str(value)
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
