"""Run directories on disk (fixed names), crash-safe JSONL files, and typed reading back.

Lines are appended and flushed as results complete, so a killed process loses at most the
line being written; readers skip an unreadable end of a file (a truncated last line, or the
garbage a power loss leaves) and writers cut it off first (records/jsonl_tail.py). Every
line is a versioned record (:mod:`mmrefine_agent.records.models`); a line whose major version
this code does not know is refused with a message naming the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from mmrefine_agent.errors import RunDirError
from mmrefine_agent.records.jsonl_tail import cut_unreadable_tail, tail_skipped
from mmrefine_agent.records.models import (
    READABLE_VERSIONS,
    Fingerprint,
    ItemResult,
    JudgeCallRecord,
    Scores,
    StepEvent,
    SubmissionEntry,
    UsageDoc,
)

CONFIG = "config.yaml"
STEPS = "steps.jsonl"
RESULTS = "results.jsonl"
JUDGMENTS = "judgments.jsonl"
SCORES = "scores.json"
SUBMISSION = "submission.json"
USAGE = "usage.json"
FINGERPRINT = "fingerprint.json"
USAGE_JOURNAL = "usage-journal.jsonl"
JSONL_FILES = (STEPS, RESULTS, JUDGMENTS, USAGE_JOURNAL)

M = TypeVar("M", bound=BaseModel)

# v1 wrote a generic "error" status for failed model calls; it is a backend_error now
_V1_STATUS = {"error": "backend_error"}


def record_json(record: BaseModel) -> str:
    """A record as one JSON line (lone surrogates in model text are escaped, never fatal)."""
    try:
        return record.model_dump_json()
    except PydanticSerializationError:
        return json.dumps(record.model_dump(mode="json"), ensure_ascii=True)


def _check_version(data: dict[str, Any], where: str) -> None:
    version = data.get("version", 1)
    if version not in READABLE_VERSIONS:
        raise RunDirError(
            f"{where}: schema version {version!r} is not one this mmrefine-agent reads "
            f"({', '.join(map(str, READABLE_VERSIONS))}); use the version that wrote it"
        )


def _upgrade(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Fill in what version-1 lines lacked (their version, the new status names)."""
    data.setdefault("version", 1)
    if model is ItemResult and data.get("status") in _V1_STATUS:
        data["status"] = _V1_STATUS[data["status"]]
    return data


def read_raw_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every complete JSON line (a torn last line is skipped)."""
    if not path.is_file():
        return []
    with path.open("rb") as handle:
        lines = handle.read().split(b"\n")
    records: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            if tail_skipped(path, lines, number):
                break  # the end was cut off by a crash, or garbled by a power loss
            raise RunDirError(f"{path}: line {number}: invalid JSON: {exc}") from exc
        if isinstance(record, dict):
            records.append((number, record))
    return records


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of a file as a plain object (a torn last line is skipped)."""
    return [record for _, record in read_raw_jsonl(path)]


def read_records(path: Path, model: type[M]) -> list[M]:
    """Every line of a JSONL file as ``model``; errors name the file and the line."""
    out: list[M] = []
    for number, data in read_raw_jsonl(path):
        where = f"{path}: line {number}"
        _check_version(data, where)
        try:
            out.append(model.model_validate(_upgrade(data, model)))
        except ValidationError as exc:
            first = exc.errors()[0]
            dotted = ".".join(str(p) for p in first["loc"])
            raise RunDirError(f"{where}: field '{dotted}': {first['msg']}") from None
    return out


def read_document(path: Path, model: type[M]) -> M | None:
    """A versioned JSON document (None when the file is absent)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: expected a JSON object")
    _check_version(data, str(path))
    try:
        return model.model_validate(_upgrade(data, model))
    except ValidationError as exc:
        first = exc.errors()[0]
        dotted = ".".join(str(p) for p in first["loc"])
        raise RunDirError(f"{path}: field '{dotted}': {first['msg']}") from None


def write_json_atomic(path: Path, data: BaseModel | dict[str, Any]) -> None:
    """Write JSON via a temporary file and rename (readers never see half a file)."""
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    if isinstance(data, BaseModel):
        text = json.dumps(data.model_dump(mode="json"), indent=2, ensure_ascii=True)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=True)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    """Write text via a temporary file and rename (a kill leaves the old file or the new one)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def rewrite_records(path: Path, records: Sequence[BaseModel]) -> None:
    """Replace a JSONL file's content atomically."""
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record_json(record) + "\n")
    os.replace(tmp, path)


class JsonlAppender:
    """Append one record per line, flushed at once (a killed process loses no written line)."""

    def __init__(self, path: Path) -> None:
        cut_unreadable_tail(path)  # never append after garbage: it would then be mid-file
        self.path = path
        self._handle: IO[str] = path.open("a", encoding="utf-8")

    def write(self, record: BaseModel) -> None:
        """Append (and flush) one record."""
        self.write_line(record_json(record))

    def write_line(self, line: str) -> None:
        """Append (and flush) one line of JSON already made (no newline in it)."""
        self._handle.write(line + "\n")
        self._handle.flush()

    def flush(self) -> None:
        """Flush what was appended."""
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


class RunDir:
    """Paths of one run directory, and its files read back as typed records."""

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

    def cut_unreadable_tails(self) -> None:
        """Before a session reads and appends: cut each JSONL file's unreadable end (kept aside)."""
        for name in JSONL_FILES:
            cut_unreadable_tail(self.file(name))

    def store_files(self, files: dict[str, bytes]) -> None:
        """Store content-addressed files (tool images) once: a file already there is kept.

        Written through a temporary file and a rename, so a reader never sees half an image.
        """
        root = self.path.resolve()
        for relative, data in files.items():
            path = self.path / relative
            if not path.resolve().is_relative_to(root) or path.is_file():
                continue  # outside the run directory (never written), or stored already
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)

    def results(self) -> list[ItemResult]:
        """The latest result record per item key, in file order."""
        latest: dict[str, ItemResult] = {}
        for record in read_records(self.file(RESULTS), ItemResult):
            latest.pop(record.key, None)
            latest[record.key] = record
        return list(latest.values())

    def steps(self, item_key: str | None = None) -> list[StepEvent]:
        """Step records, optionally only one item's."""
        records = read_records(self.file(STEPS), StepEvent)
        return records if item_key is None else [r for r in records if r.item_key == item_key]

    def judgments(self, item_key: str | None = None) -> list[JudgeCallRecord]:
        """Judge-call records, optionally only one item's."""
        records = read_records(self.file(JUDGMENTS), JudgeCallRecord)
        return records if item_key is None else [r for r in records if r.item_key == item_key]

    def submission(self) -> dict[str, SubmissionEntry]:
        """submission.json as item key -> entry (empty until a run has finished once).

        A list-form file (official submissions) is keyed by ``{id}_{solution_source}``.
        """
        path = self.file(SUBMISSION)
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{path}: cannot read: {exc}") from exc
        if isinstance(data, list):
            data = {
                f"{e.get('id')}_{e.get('solution_source')}": e for e in data if isinstance(e, dict)
            }
        if not isinstance(data, dict):
            return {}
        out: dict[str, SubmissionEntry] = {}
        for key, entry in data.items():
            if isinstance(entry, dict):
                try:
                    out[str(key)] = SubmissionEntry.model_validate(entry)
                except ValidationError as exc:
                    raise RunDirError(f"{path}: entry {key!r}: {exc.errors()[0]['msg']}") from None
        return out

    def scores(self) -> Scores:
        """The content of scores.json."""
        scores = read_document(self.file(SCORES), Scores)
        if scores is None:
            raise RunDirError(f"{self.path}: no {SCORES} (run `mmrefine judge {self.path}`)")
        return scores

    def last_scores(self) -> Scores | None:
        """scores.json as the last session left it (None: absent or unreadable)."""
        try:
            return read_document(self.file(SCORES), Scores)
        except RunDirError:
            return None

    def usage(self) -> UsageDoc | None:
        """usage.json (None before the first finished item)."""
        return read_document(self.file(USAGE), UsageDoc)

    def fingerprint(self) -> Fingerprint | None:
        """fingerprint.json (None for a new directory)."""
        return read_document(self.file(FINGERPRINT), Fingerprint)
