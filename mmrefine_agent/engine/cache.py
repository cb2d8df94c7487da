"""A content-addressed call cache in SQLite, shared by all runs and sweeps.

The key hashes the backend identity (backend, model, endpoint), the call parameters (the
tools offered and ``tool_choice`` included, as sent) and the messages (images by their
SHA-256, an assistant's tool calls, a tool result's call id and tool name). Several
processes may read and write at once: the database runs in WAL mode with a busy timeout, and
writes are single upserts.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mmrefine_agent.data.datadir import user_cache_root
from mmrefine_agent.types import ChatMessage, ModelResponse, ToolCall

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    response TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    equivalent INTEGER NOT NULL,
    created REAL NOT NULL
);
"""


def warn(message: str) -> None:
    """A one-line warning for the person running (stderr)."""
    print(f"warning: {message}", file=sys.stderr)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mmrefine/calls`` (or the platform's user cache)."""
    return user_cache_root() / "calls"


def _message_key(message: ChatMessage) -> dict[str, Any]:
    """What of a message decides the answer (a plain message keys as it always has)."""
    entry: dict[str, Any] = {
        "role": message.role,
        "text": message.text,
        "images": [i.sha256 for i in message.images],
    }
    if message.tool_calls:
        entry["tool_calls"] = [[c.id, c.name, c.arguments_json] for c in message.tool_calls]
    if message.tool_call_id is not None:
        entry["tool_call_id"] = message.tool_call_id
        entry["name"] = message.name
    return entry


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
        "messages": [_message_key(m) for m in messages],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class LinkedCache(OSError):
    """The cache directory or database is a symbolic link (it is never followed)."""


def refuse_links(directory: Path, database: Path) -> None:
    """Raise LinkedCache when the cache directory or a database file is a symbolic link.

    A link could lead the cache's writes into another application's database or directory.
    """
    suffixes = ("", "-wal", "-shm", "-journal")
    for path in (directory, *(database.with_name(database.name + s) for s in suffixes)):
        if path.is_symlink():
            raise LinkedCache(
                f"{path} is a symbolic link (to {os.readlink(path)}); the call cache never "
                "follows links (set run.cache_dir to a real directory)"
            )


class CallCache:
    """Get and put model responses by content key."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_cache_dir()
        self.path = self.directory / "calls.sqlite3"
        refuse_links(self.directory, self.path)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.disabled = False
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:  # not a database: move it aside, start a new one
            if not self.path.is_file():
                raise
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.replace(aside)
            warn(f"call cache {self.path} was unreadable ({exc}); moved to {aside.name}")
            self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        db.executescript(SCHEMA)
        db.commit()
        return db

    def _broken(self, exc: BaseException) -> None:
        """Stop using a cache that failed (full disk, read-only, corrupt): warn once."""
        if not self.disabled:
            self.disabled = True
            warn(f"call cache {self.path} failed ({type(exc).__name__}: {exc}); "
                 "going on without it")  # fmt: skip

    def get(self, key: str) -> ModelResponse | None:
        """The cached response for ``key`` (marked as a cache hit), or None."""
        if self.disabled:
            return None
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT response FROM calls WHERE key = ?", (key,)
                ).fetchone()
            if row is None:
                return None
            data = json.loads(row[0])
        except (sqlite3.Error, ValueError) as exc:
            self._broken(exc)
            return None
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
            tool_calls=[
                ToolCall(c["id"], c["name"], dict(c["arguments"]), c["raw"], c.get("problem"))
                for c in data.get("tool_calls", ())
            ],
        )

    def put(self, key: str, response: ModelResponse) -> None:
        """Store a fresh response (first writer wins; identical content either way)."""
        entry: dict[str, Any] = {
            "text": response.text,
            "model": response.model,
            "input_tokens": response.input_tokens,
            "output_tokens": response.output_tokens,
            "cost_usd": response.cost_usd,
            "finish_reason": response.finish_reason,
            "notes": response.notes,
        }
        if response.tool_calls:
            entry["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments, "raw": c.raw_arguments,
                 "problem": c.problem}
                for c in response.tool_calls
            ]  # fmt: skip
        blob = json.dumps(entry, ensure_ascii=False)
        if self.disabled:
            return
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR IGNORE INTO calls (key, response, created) VALUES (?, ?, ?)",
                    (key, blob, time.time()),
                )
                self._db.commit()
        except sqlite3.Error as exc:
            self._broken(exc)

    def equivalence(self, key: str) -> bool | None:
        """A remembered answer equivalence (see engine/answer_memo.py), or None."""
        if self.disabled:
            return None
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT equivalent FROM answers WHERE key = ?", (key,)
                ).fetchone()
        except sqlite3.Error as exc:
            self._broken(exc)
            return None
        return None if row is None else bool(row[0])

    def remember_equivalences(self, decided: dict[str, bool]) -> None:
        """Store settled answer equivalences (one transaction)."""
        if self.disabled or not decided:
            return
        now = time.time()
        try:
            with self._lock:
                self._db.executemany(
                    "INSERT OR IGNORE INTO answers (key, equivalent, created) VALUES (?, ?, ?)",
                    [(key, int(value), now) for key, value in decided.items()],
                )
                self._db.commit()
        except sqlite3.Error as exc:
            self._broken(exc)

    @classmethod
    def open(cls, directory: Path | None = None, *, quiet: bool = False) -> CallCache | None:
        """The cache, or None (with a warning naming the path unless ``quiet``) when unusable."""
        try:
            return cls(directory)
        except (OSError, sqlite3.Error) as exc:
            if not quiet:
                where = directory or default_cache_dir()
                warn(f"call cache in {where} cannot be used ({exc}); running without it")
            return None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
