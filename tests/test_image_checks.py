"""Image checks remembered by content: the same Image as decoding, never a bad image kept."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmrefine_agent.data.image_checks import ImageChecks
from mmrefine_agent.data.mmrefine import decode_image, load_items


def some_image_bytes(data_dir: Path, n: int = 3) -> list[bytes]:
    rows = pq.read_table(data_dir / "MMRefine_test.parquet", columns=["image"]).to_pylist()
    return [r["image"]["bytes"] for r in rows if r["image"] and r["image"].get("bytes")][:n]


def test_a_remembered_check_gives_the_decoded_image_without_decoding(
    tmp_path: Path, data_dir: Path
) -> None:
    calls: list[int] = []

    def counted(data: bytes):
        calls.append(1)
        return decode_image(data)

    images = some_image_bytes(data_dir)
    with ImageChecks(tmp_path / "images.sqlite3") as checks:
        first = [checks.decode(data, counted) for data in images]
    assert len(calls) == len(images)
    with ImageChecks(tmp_path / "images.sqlite3") as checks:
        again = [checks.decode(data, counted) for data in images]
    assert len(calls) == len(images)  # nothing decoded the second time
    assert again == first
    assert [i.sha256 for i in again] == [i.sha256 for i in first]


def test_a_bad_image_is_checked_every_time(tmp_path: Path, data_dir: Path) -> None:
    torn = some_image_bytes(data_dir, 1)[0][:200]
    for _ in range(2):
        with ImageChecks(tmp_path / "images.sqlite3") as checks, pytest.raises(ValueError):
            checks.decode(torn, decode_image)


def test_an_unusable_memo_decodes_everything(tmp_path: Path, data_dir: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    images = some_image_bytes(data_dir, 1)
    with ImageChecks(blocked / "images.sqlite3") as checks:
        assert checks.decode(images[0], decode_image) == decode_image(images[0])


def test_loading_twice_gives_the_same_items(data_dir: Path) -> None:
    first = load_items(data_dir, limit=40, balanced=True)
    second = load_items(data_dir, limit=40, balanced=True)  # images from the memo
    assert [i.image for i in first.items] == [i.image for i in second.items]
    assert any(i.image is not None for i in second.items)
