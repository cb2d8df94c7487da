"""Run directories on disk (fixed names) and crash-safe JSONL files.

Lines are appended and flushed as results complete, so a killed process loses at most the
line being written; readers ignore a truncated last line and writers cut it off first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from mmrefine_agent.errors import RunDirError

CONFIG = "config.yaml"
STEPS = "steps.jsonl"
RESULTS = "results.jsonl"
JUDGMENTS = "judgments.jsonl"
SCORES = "scores.json"
SUBMISSION = "submission.json"
USAGE = "usage.json"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of a file (a truncated or garbled last line is skipped)."""
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        lines = handle.read().split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            if number >= len(lines) - 1:
                break  # the last line was cut off by a crash
            raise RunDirError(f"{path}: line {number}: invalid JSON: {exc}") from exc
        if isinstance(record, dict):
            records.append(record)
    return records


def cut_partial_line(path: Path) -> None:
    """Truncate a file to its last newline (drops a line a crash left half-written)."""
    if not path.is_file():
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if not data or data.endswith(b"\n"):
            return
        handle.truncate(data.rfind(b"\n") + 1)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temporary file and rename (readers never see half a file)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def rewrite_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace a JSONL file's content atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


class JsonlAppender:
    """Append one JSON record per line, flushed at once."""

    def __init__(self, path: Path) -> None:
        cut_partial_line(path)
        self.path = path
        self._handle: IO[str] = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        """Append and flush one record."""
        self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


class RunDir:
    """Paths of one run directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, name: str) -> Path:
        """A file inside the run directory."""
        return self.path / name

    def require(self) -> RunDir:
        """Raise unless this looks like a run directory."""
        if not (self.path / CONFIG).is_file():
            raise RunDirError(f"{self.path}: not a run directory (no {CONFIG})")
        return self

    def results(self) -> list[dict[str, Any]]:
        """The latest result record per item key, in file order."""
        latest: dict[str, dict[str, Any]] = {}
        for record in read_jsonl(self.file(RESULTS)):
            key = record.get("key")
            if isinstance(key, str):
                latest.pop(key, None)
                latest[key] = record
        return list(latest.values())

    def steps(self, item_key: str | None = None) -> list[dict[str, Any]]:
        """Step records, optionally only one item's."""
        records = read_jsonl(self.file(STEPS))
        return (
            records if item_key is None else [r for r in records if r.get("item_key") == item_key]
        )

    def submission(self) -> dict[str, dict[str, Any]]:
        """submission.json as item key -> entry (empty until a run has finished once).

        A list-form file (official submissions) is keyed by ``{id}_{solution_source}``.
        """
        path = self.file(SUBMISSION)
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, list):
            data = {
                f"{e.get('id')}_{e.get('solution_source')}": e for e in data if isinstance(e, dict)
            }
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, dict)}

    def scores(self) -> dict[str, Any]:
        """The content of scores.json."""
        path = self.file(SCORES)
        if not path.is_file():
            raise RunDirError(f"{self.path}: no {SCORES} (run `mmrefine judge {self.path}`)")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
