"""Nothing lost, nothing leaked: the run-directory lock, secrets, odd text, bad inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, SCRIPT, mmrefine, start_run, wait_for_results
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrefine_agent.redact import MASK, scrub, scrub_text


def slow_run(out: Path, limit: int = 6) -> list[str]:
    return [
        "run", "configs/paper_single_pass.yaml", "--limit", str(limit), "--out", str(out),
        "--quiet", "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
        "--set", "model.options.latency_s=2.0", "--set", "run.concurrency=1",
        "--set", "judge.name=offline",
    ]  # fmt: skip


def test_a_second_run_into_the_same_directory_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = start_run(slow_run(out, limit=30))  # about a minute: it holds the lock meanwhile
    try:
        assert wait_for_results(out, "results.jsonl", 1) >= 1
        second = mmrefine(*slow_run(out, limit=30))
        assert second.returncode == 2
        assert "is in use by PID" in second.stderr and str(first.pid) in second.stderr
        judge = mmrefine("judge", str(out), "--set", "judge.name=offline")
        assert judge.returncode == 2 and "in use" in judge.stderr
        assert first.poll() is None  # the first run was never disturbed
    finally:
        first.kill()
        first.wait(timeout=10)
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(results) == len({r["key"] for r in results})  # nothing written twice
    again = mmrefine("judge", str(out), "--set", "judge.name=offline")  # the lock went with it
    assert again.returncode in (0, 1), again.stderr


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


SECRET = "sk-secret0123456789"


@pytest.mark.parametrize(
    "override",
    [
        f"model.params.extra_headers.Authorization=Bearer {SECRET}",
        f"model.params.extra_body.api_key={SECRET}",
        f"judge.params.extra_headers.x-api-key={SECRET}",
        f"model.api_base=http://user:{SECRET}@127.0.0.1:9/v1",
        f"model.endpoints=[{{api_base: 'http://127.0.0.1:9/v1?key={SECRET}'}}]",
        f"model.params.api_key={SECRET}",
    ],
)
def test_a_credential_in_the_config_is_refused_without_echoing_it(
    tmp_path: Path, override: str
) -> None:
    out = tmp_path / "run"
    result = mmrefine("run", "configs/paper_single_pass.yaml", "--out", str(out), "--set", override)
    assert result.returncode == 2
    assert "holds a credential" in result.stderr and "api_key_env" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert not out.exists()


def test_credentials_are_masked_in_free_text() -> None:
    body = f'401: {{"error": "bad key", "headers": {{"Authorization": "Bearer {SECRET}"}}}}'
    assert SECRET not in scrub_text(body) and "Authorization" in scrub_text(body)
    assert SECRET not in scrub_text(f"Incorrect API key provided: {SECRET}")
    assert SECRET not in scrub_text(f"https://user:{SECRET}@host/v1?api_key={SECRET}")
    assert scrub_text("max_tokens=5 and 12 tokens") == "max_tokens=5 and 12 tokens"
    assert scrub({"max_tokens": 5, "x-api-key": SECRET}) == {"max_tokens": 5, "x-api-key": MASK}


@settings(max_examples=80, deadline=None)
@given(prefix=st.text(max_size=20), token=st.from_regex(r"sk-[A-Za-z0-9]{10,30}", fullmatch=True))
def test_no_key_shaped_value_survives_scrubbing(prefix: str, token: str) -> None:
    text = f"{prefix} Authorization: Bearer {token} {prefix}"
    once = scrub_text(text)
    assert token not in once and scrub_text(once) == once


def test_preflight_fails_fast_naming_the_cause(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    exe = shutil.which("mmrefine", path=str(Path(sys.executable).parent)) or "mmrefine"
    no_key = subprocess.run(
        [exe, "run", "configs/paper_single_pass.yaml",
         "--limit", "20", "--out", str(tmp_path / "a")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert no_key.returncode == 2 and "OPENAI_API_KEY is not set" in no_key.stderr
    # it fails before any item: no step and no result was written (its time is a benchmark's
    # business, never a test's: about 3 s here)
    for name in ("steps.jsonl", "results.jsonl"):
        assert not (tmp_path / "a" / name).exists() or not (tmp_path / "a" / name).read_text()
    no_provider = mmrefine("run", "configs/paper_single_pass.yaml", "--out", str(tmp_path / "b"),
                           "--set", "model.name=gpt4o")  # fmt: skip
    assert no_provider.returncode == 2 and "names no provider" in no_provider.stderr
    typo = mmrefine("run", "configs/paper_single_pass.yaml", "--out", str(tmp_path / "c"),
                    "--set", "model.name=openai/gpt-4o-mni",
                    env={"OPENAI_API_KEY": "x"})  # fmt: skip
    assert typo.returncode == 2 and "did you mean 'openai/gpt-4o-mini'" in typo.stderr
    down = mmrefine("run", "configs/paper_single_pass.yaml", "--out", str(tmp_path / "d"),
                    "--set", "model.backend=openai_compat", "--set", "judge.name=offline",
                    "--set", "model.api_base=http://127.0.0.1:9/v1")  # fmt: skip
    assert down.returncode == 2 and "cannot reach http://127.0.0.1:9" in down.stderr
