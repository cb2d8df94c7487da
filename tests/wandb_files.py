"""Reads back what W&B wrote offline: the ``run-ID.wandb`` record log of an offline run.

The file is W&B's transaction log: a 7-byte header (``:W&B``, a magic number, a version),
then 32 KiB blocks of chunks, each with a 7-byte header (CRC32, little-endian length, type:
1 full, 2 first, 3 middle, 4 last); a block with under 7 bytes left is padded. Every record
is a ``wandb_internal_pb2.Record`` (wandb's own protobuf classes decode it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
CHUNK_HEADER = 7


def chunks(data: bytes) -> Iterator[bytes]:
    """The records' bytes, reassembled from the log's chunks."""
    assert data[:4] == b":W&B", "not a W&B offline run file"
    position, pending = 7, b""
    while position + CHUNK_HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < CHUNK_HEADER:
            position += left
            continue
        length = int.from_bytes(data[position + 4 : position + 6], "little")
        kind = data[position + 6]
        payload = data[position + CHUNK_HEADER : position + CHUNK_HEADER + length]
        position += CHUNK_HEADER + length
        if kind == 1:
            yield payload
        elif kind == 2:
            pending = payload
        elif kind == 3:
            pending += payload
        elif kind == 4:
            yield pending + payload
            pending = b""


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


@dataclass
class OfflineRun:
    """One offline W&B run directory, decoded."""

    path: Path
    run_id: str = ""
    project: str = ""
    group: str = ""
    resume: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[str, list[str]] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, Any]:
        """A logged table (``{"columns": [...], "data": [[...]]}``)."""
        files = sorted((self.path / "files" / "media" / "table").glob(f"{name}_*.table.json"))
        assert files, f"no table {name!r} in {self.path}"
        return json.loads(files[-1].read_text())


def read_offline_run(path: Path) -> OfflineRun:
    """Decode ``path/run-*.wandb``: run record, config, summary, history, artifacts."""
    from wandb.proto import wandb_internal_pb2 as pb

    (log,) = path.glob("run-*.wandb")
    run = OfflineRun(path)
    for data in chunks(log.read_bytes()):
        record = pb.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.run_id, run.project = record.run.run_id, record.run.project
            run.group, run.resume = record.run.run_group, bool(record.run.resume)
            for item in record.run.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                run.summary[_key(item)] = json.loads(item.value_json)
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "artifact":
            contents = record.artifact.manifest.contents
            run.artifacts[record.artifact.type] = [entry.path for entry in contents]
    return run


def offline_runs(run_dir: Path) -> list[OfflineRun]:
    """Every offline W&B run under ``run_dir/wandb``, oldest first."""
    return [read_offline_run(p) for p in sorted((run_dir / "wandb").glob("offline-run-*"))]
