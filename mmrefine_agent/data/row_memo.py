"""A parquet file's rows remembered per machine, so a rerun neither imports pyarrow nor parses.

``read_rows`` turns a parquet file into plain Python rows (str, int, float, bool, None, bytes,
lists and dicts of them). The memo keeps exactly those rows for one version of one file: the
key holds the file's resolved path, size, modification and change times and inode (any write
changes one of them; the change time cannot be set back), the pyarrow version that read it,
this format's version and the Python version. The rows are kept in :mod:`marshal`'s format
(the one Python's own ``.pyc`` files use: plain values only, nothing in it is ever run), with
their key, length and CRC-32 checked before they are read back, and read back as the same
values (``==``). Rows holding anything else (a date, a decimal, a NaN) are not remembered:
the file is read with pyarrow every time. Every row is still validated by ``row_to_item``, so
the memo can only save time. One file per source file, under
``$XDG_CACHE_HOME/mmrefine/rows/``, written atomically; when it cannot be read or written the
source is simply read with pyarrow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import sys
import zlib
from pathlib import Path
from typing import Any

from mmrefine_agent.data.datadir import user_cache_root
from mmrefine_agent.versions import distribution_version

FORMAT = 1
MARSHAL_VERSION = 4


def file_key(path: Path) -> str:
    """The version of ``path`` whose rows are remembered (and of the reader that read them)."""
    stat = path.stat()
    reader = distribution_version("pyarrow", missing="unknown")
    version = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    python = ".".join(map(str, sys.version_info[:2]))
    return json.dumps([FORMAT, str(path.resolve()), *version, reader, python])


def _plain(rows: object) -> bool:
    """Whether ``rows`` is a list of str-keyed dicts (what the memo gives back)."""
    return isinstance(rows, list) and all(
        isinstance(row, dict) and all(isinstance(k, str) for k in row) for row in rows
    )


class RowMemo:
    """The remembered rows of parquet files (a directory of one file per source)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or user_cache_root() / "rows"

    def _file(self, source: Path) -> Path:
        name = hashlib.sha256(str(source.resolve()).encode("utf-8", "surrogatepass"))
        return self.root / f"{name.hexdigest()[:32]}.rows"

    def get(self, key: str, source: Path) -> list[dict[str, Any]] | None:
        """The rows remembered for ``source`` under ``key`` (None: unknown or unusable)."""
        try:
            blob = self._file(source).read_bytes()
        except OSError:
            return None
        header, _, data = blob.partition(b"\n")
        try:
            known = json.loads(header)
            if known["key"] != key or known["size"] != len(data):
                return None  # another version of the file, or a torn write
            if known["crc"] != zlib.crc32(data):
                return None
            rows = marshal.loads(data)
        except (ValueError, KeyError, TypeError, EOFError):
            return None
        if not _plain(rows) or len(rows) != known["n_rows"]:
            return None
        return rows  # type: ignore[no-any-return]

    def put(self, key: str, source: Path, rows: list[dict[str, Any]]) -> bool:
        """Remember ``rows`` of ``source`` under ``key`` (replacing an earlier version).

        False when they cannot be remembered, or the memo cannot be written.
        """
        if not _plain(rows):
            return False
        try:
            data = marshal.dumps(rows, MARSHAL_VERSION)
        except ValueError:  # a value marshal cannot hold (a date, a decimal)
            return False
        if marshal.loads(data) != rows:  # a NaN is never equal to itself: never give back less
            return False
        header = {"key": key, "n_rows": len(rows), "size": len(data), "crc": zlib.crc32(data)}
        target = self._file(source)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(json.dumps(header).encode("ascii") + b"\n" + data)
            os.replace(tmp, target)
            return True
        except OSError:  # a read-only or full disk: read with pyarrow next time too
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return False
