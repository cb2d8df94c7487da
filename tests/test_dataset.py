import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from mmrefine_agent.data.datadir import resolve_data_dir
from mmrefine_agent.data.mmrefine import load_items, read_rows
from mmrefine_agent.errors import DataError


def test_loads_all_800_items_with_the_documented_counts(data_dir: Path) -> None:
    loaded = load_items(data_dir)
    assert not loaded.problems
    items = loaded.items
    assert len(items) == 800
    assert len({i.key for i in items}) == 800
    assert sum(i.label == "correct" for i in items) == 267
    assert sum(i.modality == "image" for i in items) == 400
    image_item = next(i for i in items if i.image is not None)
    assert image_item.image is not None and image_item.image.width >= 183
    assert image_item.key == f"{image_item.id}_{image_item.source}"


def test_filters_limit_and_balanced_order(data_dir: Path) -> None:
    loaded = load_items(data_dir, filters={"modality": "image", "label": "incorrect"}, limit=5)
    assert len(loaded.items) == 5
    assert all(i.modality == "image" and i.label == "incorrect" for i in loaded.items)
    mixed = load_items(data_dir, limit=8, balanced=True).items
    assert {(i.modality, i.label) for i in mixed} == {
        ("image", "correct"),
        ("image", "incorrect"),
        ("text", "correct"),
        ("text", "incorrect"),
    }
    by_type = load_items(data_dir, filters={"error_type": ["Perception Error"]}).items
    assert len(by_type) == 160


def test_unknown_filter_is_an_error(data_dir: Path) -> None:
    with pytest.raises(DataError, match="unknown data filter"):
        load_items(data_dir, filters={"modaliti": "image"})


def _write_rows(path: Path, rows: list[dict]) -> Path:
    schema = pq.read_schema(
        Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "MMRefine_test.parquet"
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema.remove_metadata()), path)
    return path


def test_bad_rows_name_file_row_key_and_field(data_dir: Path, tmp_path: Path) -> None:
    rows = read_rows(data_dir / "MMRefine_test.parquet")
    image_row = dict(next(r for r in rows if r["image"]))
    image_row["image"] = {"bytes": b"\xff\xd8\xff\xe0 not really a jpeg", "path": "x.jpg"}
    empty_solution = dict(rows[0])
    empty_solution["initial_solution"] = ""
    good = dict(rows[1])
    path = _write_rows(tmp_path / "bad.parquet", [good, image_row, empty_solution])
    loaded = load_items(data_dir, parquet=path)
    assert [i.key for i in loaded.items] == [f"{good['id']}_{good['solution_source']}"]
    problems = {p.field: p for p in loaded.problems}
    assert set(problems) == {"image", "initial_solution"}
    text = str(problems["image"])
    assert str(path) in text and "row 1" in text and image_row["id"] in text and "'image'" in text
    with pytest.raises(DataError, match="2 bad row"):
        loaded.raise_on_problems()


def test_truncated_image_is_detected(data_dir: Path, tmp_path: Path) -> None:
    rows = read_rows(data_dir / "MMRefine_test.parquet")
    row = dict(next(r for r in rows if r["image"]))
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buffer, format="JPEG")
    row["image"] = {"bytes": buffer.getvalue()[:200], "path": "t.jpg"}
    loaded = load_items(data_dir, parquet=_write_rows(tmp_path / "t.parquet", [row]))
    assert not loaded.items and loaded.problems[0].field == "image"


def test_data_dir_resolution_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    assert resolve_data_dir(str(data_dir)) == data_dir
    monkeypatch.setenv("MMREFINE_DATA_DIR", str(data_dir))
    assert resolve_data_dir() == data_dir
    with pytest.raises(DataError, match="from --data-dir"):
        resolve_data_dir(str(tmp_path))
