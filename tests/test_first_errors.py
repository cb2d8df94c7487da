"""Failures counted per cause with the first message of each, and progress, on every command."""

from __future__ import annotations

import json
from pathlib import Path

from fake_openai import FakeOpenAI
from helpers import mmrefine, scripted_run

from mmrefine_agent.cli.failures import cause_of, summary_lines


def test_causes_are_read_from_the_recorded_messages() -> None:
    assert cause_of("eval_correct: reply is not 0/1 after 3 attempt(s): 'maybe'") == "reply not 0/1"
    assert cause_of(
        "judge.eval_correct: InternalServerError: litellm.InternalServerError: OpenAIException"
        " - Missing credentials. Please pass an `api_key`"
    ) == "missing credentials"  # fmt: skip
    assert cause_of("detect: HTTP 401 from http://127.0.0.1:1/v1: bad key") == (
        "authentication failed"
    )
    assert cause_of("detect: NotFoundError: model gpt-4o-mni") == "model not found"
    assert cause_of("detect: failed after 4 attempt(s): ValueError: odd thing here") == (
        "ValueError: odd thing here"
    )


def test_the_summary_counts_per_cause_and_quotes_the_first_of_each() -> None:
    lines = [
        "a: judge_error: eval_correct: reply is not 0/1 after 3 attempt(s): 'x'",
        "b: judge_error: eval_correct: reply is not 0/1 after 3 attempt(s): 'y'",
        "c: judge_error: eval_correct: judge.eval_correct: Missing credentials. Please",
        "d: backend_error: detect: failed after 4 attempt(s): TimeoutError: timed out",
    ]
    assert summary_lines(lines) == [
        "judge errors 3: reply not 0/1 (2), missing credentials (1); see judgments.jsonl",
        "  first reply not 0/1: a: judge_error: eval_correct: reply is not 0/1 after 3 "
        "attempt(s): 'x'",
        "  first missing credentials: c: judge_error: eval_correct: judge.eval_correct: "
        "Missing credentials. Please",
        "model call errors 1: timed out (1); see results.jsonl",
        "  first timed out: d: backend_error: detect: failed after 4 attempt(s): TimeoutError: "
        "timed out",
    ]


def test_judge_shows_progress_and_errors_per_cause(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert scripted_run(run, limit=4).returncode == 0
    with FakeOpenAI(lambda body: "maybe") as server:
        server.faults = ["401", "401"]  # two items fail on authentication (never retried)
        result = mmrefine(
            "judge", str(run),
            "--set", "judge.name=mmrefine_official",
            "--set", "judge.backend=openai_compat",
            "--set", "judge.model=judge",
            "--set", f"judge.api_base={server.base_url}",
            "--set", "judge.concurrency=1",
        )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "judging" in result.stdout and "4/4" in result.stdout
    assert (
        "judge errors 4: authentication failed (2), reply not 0/1 (2); see judgments.jsonl"
        in result.stdout
    ), result.stdout
    assert "  first authentication failed: " in result.stdout
    assert "  first reply not 0/1: " in result.stdout
    assert "Traceback" not in result.stderr
    records = [json.loads(x) for x in (run / "judgments.jsonl").read_text().splitlines()]
    assert any("401" in (r.get("error") or "") for r in records)


def test_report_lists_the_failures_of_a_run(tmp_path: Path) -> None:
    run = tmp_path / "r"
    with FakeOpenAI(lambda body: "maybe") as server:
        server.faults = ["404"] * 2
        result = mmrefine(
            "run", "configs/paper_single_pass.yaml", "--limit", "2", "--out", str(run),
            "--set", "model.backend=openai_compat", "--set", "model.name=m",
            "--set", f"model.api_base={server.base_url}", "--set", "judge.name=offline",
            "--set", "run.concurrency=1", "--quiet",
        )  # fmt: skip
    assert result.returncode == 1
    assert "model call errors 2: model not found (2); see results.jsonl" in result.stdout
    report = mmrefine("report", str(run))
    assert report.returncode == 1
    assert "model call errors 2: model not found (2); see results.jsonl" in report.stdout
    assert "not scored: no item has a judgment yet" in report.stdout
