"""A run left by the v1 worker processes (``RUN/workers/<k>/``) resumes without loss or doubling.

The old layout is made by hand from a real run: some finished items are moved out of the run's
files into two shard directories (results, steps, judgments, usage, as each v1 worker wrote
them, plus its config and PID file), one shard line in the version-1 form (no ``version``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import scripted_run

from mmrefine_agent.engine import legacy_shards
from mmrefine_agent.records.rundir import RunDir

NO_CACHE = ("--set", "run.cache=false")  # every redone item is a call (counted in usage)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.is_file() else []


def write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def old_layout(reference: Path, out: Path) -> tuple[set[str], set[str]]:
    """Copy ``reference`` to ``out`` with items 2..5 in shards (2 and 3 finished, 4 failed,
    5 finished in shard 1) and items 6..7 nowhere; returns (keys in shards, keys missing)."""
    shutil.copytree(reference, out)
    results = lines(out / "results.jsonl")
    keys = [r["key"] for r in results]
    sharded = {0: keys[2:4], 1: keys[4:6]}
    missing = set(keys[6:8])
    moved = {k for share in sharded.values() for k in share}
    steps, judgments = lines(out / "steps.jsonl"), lines(out / "judgments.jsonl")
    for index, share in sharded.items():
        shard = out / "workers" / str(index)
        shard.mkdir(parents=True)
        shard_results = [r for r in results if r["key"] in share]
        if index == 1:  # a failed item in a shard is redone, not adopted
            shard_results[0] = {**shard_results[0], "status": "backend_error", "error": "x"}
            shard_results[1].pop("version")  # a version-1 line
        write(shard / "results.jsonl", shard_results)
        write(shard / "steps.jsonl", [s for s in steps if s["item_key"] in share])
        write(shard / "judgments.jsonl", [j for j in judgments if j["item_key"] in share])
        (shard / "usage.json").write_text(json.dumps({
            "refine": {"calls": len(share)}, "judge": {},
            "sessions": [{"started_at": f"shard {index}", "refine": {"calls": len(share)}}],
        }))  # fmt: skip
        (out / "workers" / f"{index}.yaml").write_text("name: shard\n")
        (out / "workers" / f"{index}.pid").write_text("999999\n")
    gone = moved | missing
    write(out / "results.jsonl", [r for r in results if r["key"] not in gone])
    write(out / "steps.jsonl", [s for s in steps if s["item_key"] not in gone])
    write(out / "judgments.jsonl", [j for j in judgments if j["item_key"] not in gone])
    adopted = set(sharded[0]) | {sharded[1][1]}
    return adopted, missing | {sharded[1][0]}


def summary(out: Path) -> dict[str, str]:
    latest = {r["key"]: r["status"] for r in lines(out / "results.jsonl")}
    return dict(sorted(latest.items()))


def test_old_worker_layout_resumes_without_loss_or_doubling(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert scripted_run(reference, *NO_CACHE, limit=8).returncode == 0
    out = tmp_path / "old"
    adopted, redone = old_layout(reference, out)
    again = scripted_run(out, *NO_CACHE, limit=8)
    assert again.returncode == 0, again.stderr
    assert not (out / "workers").exists()
    assert summary(out) == summary(reference)
    keys = [r["key"] for r in lines(out / "results.jsonl")]
    assert len(keys) == len(set(keys)) == 8  # each finished item once
    assert len(lines(out / "steps.jsonl")) == len(lines(reference / "steps.jsonl"))
    usage = json.loads((out / "usage.json").read_text())
    assert usage["sessions"][-1]["refine"]["calls"] == len(redone)  # adopted ones not redone
    assert {"shard 0", "shard 1"} <= {s["started_at"] for s in usage["sessions"]}

    def adopted_records(path: Path) -> dict[str, dict]:  # (a v1 line stays a v1 line)
        return {r["key"]: {**r, "version": 0} for r in lines(path) if r["key"] in adopted}

    assert adopted_records(out / "results.jsonl") == adopted_records(reference / "results.jsonl")


def test_adoption_killed_half_way_is_redone_without_doubling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = tmp_path / "reference"
    assert scripted_run(reference, *NO_CACHE, limit=8).returncode == 0
    out = tmp_path / "old"
    adopted, _ = old_layout(reference, out)
    run = RunDir(out)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies after steps, judgments and usage

    with monkeypatch.context() as patch:
        patch.setattr(legacy_shards, "JsonlAppender", killed)
        with pytest.raises(KeyboardInterrupt):
            legacy_shards.adopt_worker_shards(run)
    assert (out / "workers").exists()
    assert legacy_shards.adopt_worker_shards(run) == len(adopted)
    assert legacy_shards.adopt_worker_shards(run) == 0  # and once more: nothing left to do
    steps = lines(out / "steps.jsonl")
    per_item = {k: sum(s["item_key"] == k for s in steps) for k in adopted}
    expected = {
        k: sum(s["item_key"] == k for s in lines(reference / "steps.jsonl")) for k in adopted
    }
    assert per_item == expected  # the first attempt's lines were replaced, not appended to
    sessions = json.loads((out / "usage.json").read_text())["sessions"]
    assert [s["started_at"] for s in sessions].count("shard 0") == 1
    keys = [r["key"] for r in lines(out / "results.jsonl")]
    assert len(keys) == len(set(keys))
    again = scripted_run(out, *NO_CACHE, limit=8)
    assert again.returncode == 0, again.stderr
    assert summary(out) == summary(reference)


def test_restart_removes_the_old_workers_directory(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert scripted_run(reference, *NO_CACHE, limit=8).returncode == 0
    out = tmp_path / "old"
    old_layout(reference, out)
    assert scripted_run(out, "--restart", *NO_CACHE, limit=8).returncode == 0
    assert not (out / "workers").exists()
    assert summary(out) == summary(reference)
