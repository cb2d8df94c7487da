"""Load MMRefine rows from parquet into typed, validated :class:`Item` objects."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrefine_agent.data.base import LoadedData, RowProblem
from mmrefine_agent.data.datadir import PARQUET_NAME
from mmrefine_agent.data.image_checks import ImageChecks
from mmrefine_agent.data.row_memo import RowMemo, file_key
from mmrefine_agent.errors import DataError
from mmrefine_agent.types import Image, Item

REQUIRED_TEXT = ("id", "question", "answer", "initial_solution", "solution_source")
LABELS = ("correct", "incorrect")
FILTER_FIELDS = ("modality", "error_type", "label", "source", "keys", "problem")

__all__ = [
    "FILTER_FIELDS",
    "LoadedData",
    "RowProblem",
    "balanced_order",
    "count_by",
    "decode_image",
    "load_items",
    "read_rows",
    "row_to_item",
]


def decode_image(data: bytes) -> Image:
    """Decode and validate image bytes with Pillow; raises ValueError on undecodable data."""
    from PIL import Image as PILImage

    if not data:
        raise ValueError("image bytes are empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            return _decode(data)
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ValueError(f"image refused as a decompression bomb: {exc}") from None


def _decode(data: bytes) -> Image:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(data)) as img:
            width, height = img.size
            fmt = (img.format or "").upper()
            # Decode at reduced scale where the format allows it (JPEG): cheap, and still
            # reads the whole compressed stream, so truncated or corrupt data fails here.
            img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"cannot decode image: {exc}") from exc
    mime = PILImage.MIME.get(fmt, "image/jpeg")
    return Image(data=data, mime=mime, width=width, height=height)


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


def read_rows(path: Path, memo: RowMemo | None = None) -> list[dict[str, Any]]:
    """Read every parquet row as a dict; raises DataError naming the file on failure.

    ``memo``: rows remembered for this very version of the file are taken from it (and rows
    read are added to it), without importing pyarrow (data/row_memo.py).
    """
    key = None
    if memo is not None:
        try:
            key = file_key(path)
        except OSError:
            key = None
        remembered = memo.get(key, path) if key is not None else None
        if remembered is not None:
            return remembered
    rows = _read_parquet(path)
    if memo is not None and key is not None:
        memo.put(key, path, rows)
    return rows


def _read_parquet(path: Path) -> list[dict[str, Any]]:
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
    rows = read_rows(path, RowMemo())
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


def count_by(items: Iterable[Item], attribute: str) -> dict[str, int]:
    """Count items by an attribute (``label``, ``error_type``, ``source``, ``modality``)."""
    counts: dict[str, int] = {}
    for item in items:
        value = getattr(item, attribute)
        name = "-" if value is None else str(value)
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
