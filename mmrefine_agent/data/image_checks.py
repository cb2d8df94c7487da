"""Image checks remembered by content: an image is decoded once per machine, not once per run.

Whether an image's bytes decode, and to what (MIME type, width, height), is a pure function
of the bytes and the Pillow version; the key holds both (the bytes by their sha256). Only an
image that decoded is remembered: a bad one is checked again every time and fails its row.
The memo is a SQLite file beside the call cache (``$XDG_CACHE_HOME/mmrefine/images.sqlite3``);
when it cannot be opened or written, every image is decoded, as before.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from mmrefine_agent.data.datadir import user_cache_root
from mmrefine_agent.types import Image

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    key TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created REAL NOT NULL
);
"""


def pillow_version() -> str:
    """The installed Pillow's version (without importing its image modules)."""
    from PIL import __version__

    return str(__version__)


class ImageChecks:
    """Remembered decodes for one load of a dataset (a context manager: writes on exit)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or user_cache_root() / "images.sqlite3"
        self._db: sqlite3.Connection | None = None
        self._new: dict[str, tuple[str, int, int]] = {}
        self._tag = ""

    def __enter__(self) -> ImageChecks:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(SCHEMA)
            self._db = db
            self._tag = pillow_version()
        except (OSError, sqlite3.Error):
            self._db = None  # not usable here: decode everything
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._db is None:
            return
        try:
            if self._new:
                now = time.time()
                self._db.executemany(
                    "INSERT OR IGNORE INTO checks (key, mime, width, height, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(key, *found, now) for key, found in self._new.items()],
                )
                self._db.commit()
        except sqlite3.Error:
            pass  # a read-only or full disk: the checks are simply made again next time
        finally:
            self._db.close()
            self._db = None

    def _key(self, sha256: str) -> str:
        return f"{sha256}/pillow {self._tag}"

    def decode(self, data: bytes, decode: Callable[[bytes], Image]) -> Image:
        """``decode(data)``, or the remembered result of decoding these very bytes."""
        if self._db is None:
            return decode(data)
        sha256 = hashlib.sha256(data).hexdigest()
        key = self._key(sha256)
        try:
            row = self._db.execute(
                "SELECT mime, width, height FROM checks WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.Error:
            row = None
        if row is not None:
            return Image(data=data, mime=row[0], width=int(row[1]), height=int(row[2]),
                         sha256=sha256)  # fmt: skip
        image = decode(data)
        self._new[key] = (image.mime, image.width, image.height)
        return image
