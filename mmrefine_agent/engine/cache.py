"""A content-addressed call cache in SQLite, shared by all runs and sweeps.

The key hashes the backend identity (backend, model, endpoint), the call parameters and
the messages (images by their SHA-256). Several processes may read and write at once: the
database runs in WAL mode with a busy timeout, and writes are single upserts.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from mmrefine_agent.data.datadir import user_cache_root
from mmrefine_agent.types import ChatMessage, ModelResponse

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    response TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mmrefine/calls`` (or the platform's user cache)."""
    return user_cache_root() / "calls"


def call_key(
    identity: dict[str, Any],
    params: dict[str, Any],
    messages: tuple[ChatMessage, ...],
    salt: str = "",
) -> str:
    """The content address of one call."""
    payload = {
        "salt": salt,
        "identity": identity,
        "params": params,
        "messages": [
            {"role": m.role, "text": m.text, "images": [i.sha256 for i in m.images]}
            for m in messages
        ],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CallCache:
    """Get and put model responses by content key."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "calls.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute(SCHEMA)
        self._db.commit()

    def get(self, key: str) -> ModelResponse | None:
        """The cached response for ``key`` (marked as a cache hit), or None."""
        with self._lock:
            row = self._db.execute("SELECT response FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return ModelResponse(
            text=data["text"],
            model=data.get("model", ""),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            cost_usd=0.0,
            latency_s=0.0,
            cache_hit=True,
            finish_reason=data.get("finish_reason"),
            notes=list(data.get("notes", [])),
        )

    def put(self, key: str, response: ModelResponse) -> None:
        """Store a fresh response (first writer wins; identical content either way)."""
        blob = json.dumps(
            {
                "text": response.text,
                "model": response.model,
                "input_tokens": response.input_tokens,
                "output_tokens": response.output_tokens,
                "cost_usd": response.cost_usd,
                "finish_reason": response.finish_reason,
                "notes": response.notes,
            },
            ensure_ascii=False,
        )
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO calls (key, response, created) VALUES (?, ?, ?)",
                (key, blob, time.time()),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
