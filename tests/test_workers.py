"""``run.workers``: items split over worker processes, merged into one run directory."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from helpers import SCRIPT, mmrefine, start_run, wait_for_results
from test_resume import summary

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.runner import Runner
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.plugins_manager import load_plugins


def command(out: Path, *extra: str) -> list[str]:
    return [
        "run", "configs/paper_single_pass.yaml", "--limit", "12", "--out", str(out), "--quiet",
        "--set", "model.backend=scripted",
        "--set", f"model.options.script={SCRIPT}",
        "--set", "judge.name=offline",
        "--set", "run.cache=false",
        *extra,
    ]  # fmt: skip


def test_workers_give_the_same_run_as_one_process(tmp_path: Path) -> None:
    single = mmrefine(*command(tmp_path / "one"))
    assert single.returncode == 0, single.stderr
    split = mmrefine(*command(tmp_path / "two", "--set", "run.workers=2"))
    assert split.returncode == 0, split.stderr
    assert summary(tmp_path / "two") == summary(tmp_path / "one")
    assert not (tmp_path / "two" / "workers").exists()
    steps = (tmp_path / "two" / "steps.jsonl").read_text().splitlines()
    assert len(steps) == len((tmp_path / "one" / "steps.jsonl").read_text().splitlines())
    usage = json.loads((tmp_path / "two" / "usage.json").read_text())
    assert usage["refine"]["calls"] == 12  # the workers' calls are the run's
    scores = json.loads((tmp_path / "two" / "scores.json").read_text())
    assert (
        scores["overall"] == json.loads((tmp_path / "one" / "scores.json").read_text())["overall"]
    )


def test_killed_run_with_workers_resumes_without_redoing_work(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert mmrefine(*command(reference)).returncode == 0
    killed = tmp_path / "killed"
    slow = ("--set", "run.workers=2", "--set", "model.options.latency_s=0.3",
            "--set", "run.concurrency=1")  # fmt: skip
    process = start_run(command(killed, *slow))
    shards = killed / "workers"
    wait_for_results(shards, "*/results.jsonl", 3)
    pids = [int(p.read_text()) for p in shards.glob("*.pid")]
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    time.sleep(1.0)
    for pid in pids:  # the workers died with their parent
        assert not Path(f"/proc/{pid}").exists() or b"zombie" in _state(pid)
    # complete lines only: a worker killed mid-write leaves a partial line that does not count
    finished = sum(p.read_bytes().count(b"\n") for p in shards.glob("*/results.jsonl"))
    assert 3 <= finished < 12
    again = mmrefine(*command(killed, *slow))
    assert again.returncode == 0, again.stderr
    assert summary(killed) == summary(reference)
    usage = json.loads((killed / "usage.json").read_text())
    assert usage["sessions"][-1]["refine"]["calls"] == 12 - finished  # nothing finished redone
    recovered = [s for s in usage["sessions"] if s.get("recovered_from_workers")]
    assert recovered and sum(s["refine"]["calls"] for s in recovered) >= finished - 2
    assert not shards.exists()


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/status").read_bytes().lower()
    except OSError:
        return b"zombie"


@pytest.mark.parametrize(
    ("overrides", "n_todo", "expected"),
    [
        (["model.backend=litellm"], 800, "cores"),  # CPU-bound per call: one per core
        (["model.backend=litellm"], 150, 1),  # too small to repay the start-up
        (["model.backend=scripted", "judge.name=mmrefine_official"], 800, "cores"),  # judge
        (["model.backend=scripted", "judge.name=offline"], 800, 1),
        (["model.backend=openai_compat", "judge.name=offline"], 800, 1),  # cheap per call
        (["model.backend=llamacpp"], 800, 1),  # one in-process model: never copied
        (["model.backend=scripted", "run.workers=3"], 800, 3),
        (["model.backend=scripted", "run.workers=3"], 2, 2),
    ],
)
def test_auto_workers(overrides: list[str], n_todo: int, expected: object, tmp_path: Path) -> None:
    config = build_config({"name": "w"}, overrides)
    count = Runner(config, load_plugins(), tmp_path).worker_count(n_todo)
    assert count == (min(os.cpu_count() or 1, 4) if expected == "cores" else expected)


def test_workers_setting_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"workers must be 'auto' or 1\.\.64"):
        build_config({"name": "w"}, ["run.workers=0"])
