"""Nothing lost, nothing leaked: the run-directory lock, secrets, odd text, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import SCRIPT, mmrefine, start_run, wait_for_results


def slow_run(out: Path) -> list[str]:
    return [
        "run", "configs/paper_single_pass.yaml", "--limit", "6", "--out", str(out), "--quiet",
        "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
        "--set", "model.options.latency_s=2.0", "--set", "run.concurrency=1",
        "--set", "judge.name=offline",
    ]  # fmt: skip


def test_a_second_run_into_the_same_directory_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = start_run(slow_run(out))
    try:
        assert wait_for_results(out, "results.jsonl", 1) >= 1
        second = mmrefine(*slow_run(out))
        assert second.returncode == 2
        assert "is in use by PID" in second.stderr and str(first.pid) in second.stderr
        judge = mmrefine("judge", str(out), "--set", "judge.name=offline")
        assert judge.returncode == 2 and "in use" in judge.stderr
        assert first.wait(timeout=60) == 0
    finally:
        if first.poll() is None:
            first.kill()
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(results) == 6 and len({r["key"] for r in results}) == 6
    again = mmrefine(*slow_run(out))  # the lock went with its holder
    assert again.returncode == 0, again.stderr


def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = start_run(slow_run(out))
    wait_for_results(out, "results.jsonl", 1)
    proc.kill()
    proc.wait(timeout=10)
    resumed = mmrefine(*slow_run(out))
    assert resumed.returncode == 0, resumed.stderr
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len({r["key"] for r in results}) == 6
