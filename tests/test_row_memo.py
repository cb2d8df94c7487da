"""Parquet rows remembered per file version: the very rows pyarrow reads, never a stale version.

Real parts: the benchmark's parquet file and copies of it, pyarrow, a memo directory on disk, a
fresh interpreter to see what a remembered load imports.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrefine_agent.data.mmrefine import _read_parquet, load_items, read_rows
from mmrefine_agent.data.row_memo import RowMemo, file_key

PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.binary(max_size=64),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def test_remembered_rows_are_the_rows_pyarrow_reads(tmp_path: Path, data_dir: Path) -> None:
    source = data_dir / "MMRefine_test.parquet"
    memo = RowMemo(tmp_path / "rows")
    first = read_rows(source, memo)
    assert memo.get(file_key(source), source) == first == _read_parquet(source)
    assert read_rows(source, memo) == first


def test_a_remembered_load_does_not_import_pyarrow(data_dir: Path) -> None:
    load_items(data_dir, limit=4)  # remembers the rows in this test's cache
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mmrefine_agent.data.mmrefine import load_items\n"
        f"loaded = load_items(Path({str(data_dir)!r}), limit=4)\n"
        "assert len(loaded.items) == 4, loaded\n"
        "print('pyarrow' in sys.modules)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env=os.environ.copy(),
    )  # fmt: skip
    assert shown.stdout.strip() == "False"


def test_a_changed_file_is_read_again(tmp_path: Path, data_dir: Path) -> None:
    source = tmp_path / "rows.parquet"
    shutil.copy(data_dir / "MMRefine_test.parquet", source)
    memo = RowMemo(tmp_path / "rows")
    assert len(read_rows(source, memo)) == 800
    table = pq.read_table(source).slice(0, 5)
    pq.write_table(table, source)  # same path, new content
    assert read_rows(source, memo) == table.to_pylist()
    assert len(list((tmp_path / "rows").iterdir())) == 1  # one version per source file


def test_a_damaged_memo_is_never_read(tmp_path: Path, data_dir: Path) -> None:
    source = data_dir / "MMRefine_test.parquet"
    memo = RowMemo(tmp_path / "rows")
    rows = read_rows(source, memo)
    (stored,) = (tmp_path / "rows").iterdir()
    blob = bytearray(stored.read_bytes())
    blob[-100] ^= 0xFF  # one flipped byte in the rows
    stored.write_bytes(bytes(blob))
    assert memo.get(file_key(source), source) is None
    assert read_rows(source, memo) == rows  # read with pyarrow, and remembered again
    assert memo.get(file_key(source), source) == rows
    stored.write_bytes(stored.read_bytes()[:1000])  # torn
    assert memo.get(file_key(source), source) is None
    stored.write_bytes(b"not a header\n")
    assert memo.get(file_key(source), source) is None


def test_an_unwritable_memo_reads_with_pyarrow(tmp_path: Path, data_dir: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    source = data_dir / "MMRefine_test.parquet"
    memo = RowMemo(blocked / "rows")
    assert read_rows(source, memo) == _read_parquet(source)
    assert memo.get(file_key(source), source) is None


def test_rows_marshal_cannot_hold_are_not_remembered(tmp_path: Path) -> None:
    source = tmp_path / "dated.parquet"
    pq.write_table(pa.table({"id": ["1"], "when": [datetime.date(2025, 1, 2)]}), source)
    memo = RowMemo(tmp_path / "rows")
    rows = read_rows(source, memo)
    assert rows == [{"id": "1", "when": datetime.date(2025, 1, 2)}]
    assert memo.get(file_key(source), source) is None
    assert not memo.put("k", source, [{"x": float("nan")}])  # NaN != NaN: not kept


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.dictionaries(st.text(max_size=10), PLAIN, max_size=5), max_size=6))
def test_plain_rows_read_back_equal(rows: list[dict], tmp_path_factory) -> None:
    root = tmp_path_factory.mktemp("rows")
    source = root / "any.parquet"
    memo = RowMemo(root / "memo")
    assert memo.put("key", source, rows)
    assert memo.get("key", source) == rows
    assert memo.get("another version", source) is None
