"""Helpers shared by tests: the CLI in a subprocess, scripted answers in the official format."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fake_openai import official_answer

__all__ = [
    "ROOT",
    "SCRIPT",
    "mmrefine",
    "official_answer",
    "scripted_config",
    "scripted_run",
    "start_run",
    "wait_for_results",
]

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "data" / "script_single_pass.yaml"


def mmrefine(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("mmrefine", path=str(Path(sys.executable).parent)) or "mmrefine"
    return subprocess.run(
        [exe, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def scripted_run(
    out: Path, *extra: str, limit: int = 6, env: dict | None = None
) -> subprocess.CompletedProcess:
    return mmrefine(
        "run",
        "configs/paper_single_pass.yaml",
        "--limit",
        str(limit),
        "--out",
        str(out),
        "--set",
        "model.backend=scripted",
        "--set",
        f"model.options.script={SCRIPT}",
        "--set",
        "judge.name=offline",
        "--quiet",
        *extra,
        env=env,
    )


def scripted_config(*extra: str, limit: int = 8) -> Any:
    """The in-process twin of :func:`scripted_run`: the paper config, scripted, offline judge."""
    from mmrefine_agent.config import load_config

    return load_config(
        ROOT / "configs" / "paper_single_pass.yaml",
        [
            "model.backend=scripted",
            f"model.options.script={SCRIPT}",
            "judge.name=offline",
            f"data.limit={limit}",
            *extra,
        ],
    )


def start_run(args: list[str]) -> subprocess.Popen[bytes]:
    """``mmrefine ARGS`` in the background (to be killed by a test)."""
    exe = shutil.which("mmrefine", path=str(Path(sys.executable).parent)) or "mmrefine"
    return subprocess.Popen(
        [exe, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for_results(directory: Path, pattern: str, at_least: int, timeout_s: float = 120) -> int:
    """Wait until the result files matching ``pattern`` hold ``at_least`` lines; the count."""
    deadline = time.time() + timeout_s
    done = 0
    while time.time() < deadline:
        done = sum(len(p.read_text().splitlines()) for p in directory.glob(pattern) if p.is_file())
        if done >= at_least:
            break
        time.sleep(0.05)
    return done
