"""Helpers shared by tests: the CLI in a subprocess, scripted answers in the official format."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fake_openai import official_answer

__all__ = ["ROOT", "SCRIPT", "mmrefine", "official_answer", "scripted_run"]

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
