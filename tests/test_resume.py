"""A run killed with SIGKILL resumes to the same result as an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, SCRIPT, start_run, wait_for_results


def command(out: Path) -> list[str]:
    exe = shutil.which("mmrefine", path=str(Path(sys.executable).parent)) or "mmrefine"
    return [
        exe,
        "run",
        "configs/paper_single_pass.yaml",
        "--limit",
        "10",
        "--out",
        str(out),
        "--quiet",
        "--set",
        "model.backend=scripted",
        "--set",
        f"model.options.script={SCRIPT}",
        "--set",
        "model.options.latency_s=0.3",
        "--set",
        "run.concurrency=2",
        "--set",
        "judge.name=offline",
        "--set",
        "run.cache=false",
    ]


def finish(out: Path) -> None:
    """Run (or resume) to the end."""
    subprocess.run(
        command(out), cwd=ROOT, env=dict(os.environ), check=True, capture_output=True, timeout=300
    )


def summary(out: Path) -> dict[str, tuple[str, str]]:
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    return {r["key"]: (r["status"], r["judgment"]["scenario"]) for r in records}


def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    finish(reference)
    killed = tmp_path / "killed"
    process = start_run(command(killed)[1:])
    wait_for_results(killed, "results.jsonl", 3)
    results = killed / "results.jsonl"
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    done_before = results.read_bytes().count(b"\n")  # complete lines only
    assert 3 <= done_before < 10
    finish(killed)
    assert summary(killed) == summary(reference)
    usage = json.loads((killed / "usage.json").read_text())
    resumed = usage["sessions"][-1]
    assert resumed["refine"]["calls"] == 10 - done_before  # finished items were not redone
    # the run's totals add up every session, the killed one included (it recorded at least the
    # items finished before the one whose record was being written when it was killed)
    assert len(usage["sessions"]) == 2
    assert usage["refine"]["calls"] == sum(s["refine"]["calls"] for s in usage["sessions"])
    assert usage["sessions"][0]["refine"]["calls"] >= done_before - 1
    steps = [json.loads(x) for x in (killed / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == len((reference / "steps.jsonl").read_text().splitlines())
    assert {s["item_key"] for s in steps} == set(summary(reference))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_a_random_moment_resumes_to_the_same_run(tmp_path: Path, seed: int) -> None:
    # anywhere from start-up (config and fingerprint being written) to the last items
    delay = random.Random(seed).uniform(0.2, 4.5)
    reference = tmp_path / "reference"
    finish(reference)
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        command(killed), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    finish(killed)
    assert summary(killed) == summary(reference), f"killed after {delay:.2f}s"
    steps = (killed / "steps.jsonl").read_text().splitlines()
    assert len(steps) == len((reference / "steps.jsonl").read_text().splitlines())
