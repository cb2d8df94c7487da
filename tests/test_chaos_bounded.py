"""Chaos: bounded work and clean output whatever a server, a config or a dataset holds.

Hostile replies from a loopback server (a reply far over ``max_reply_bytes``, one that never
ends, a Retry-After of three days, absurd usage figures), crafted configs (alias bombs,
recursive aliases, misspelt backend options) and crafted datasets (terminal escapes and
rich markup in fields, an undecodable image) each end in a one-line reason or a clean run.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fake_openai import FakeOpenAI, official_answer
from helpers import SCRIPT, mmrefine, scripted_run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_litellm_loopback import via

from mmrefine_agent.cli.failures import cause_of
from mmrefine_agent.config import ModelConfig, build_config
from mmrefine_agent.engine.run import arun
from mmrefine_agent.errors import ConfigError
from mmrefine_agent.model.backend import ModelBackend, parse_retry_after
from mmrefine_agent.types import ModelRequest, ModelResponse

HANG_GUARD_S = 300
"""A run that has not finished by then is a hang (a sleep of days, an endless read)."""


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def guarded_run(overrides: list[str], out: Path, *, limit: int) -> Any:
    """``test_litellm_loopback.run`` that fails instead of hanging."""
    from mmrefine_agent.plugins_manager import load_plugins

    config = build_config(
        {"name": "t"},
        [f"data.limit={limit}", "run.backoff_s=0.01", "run.cache=false", *overrides],
    )
    return asyncio.run(asyncio.wait_for(arun(config, out, plugins=load_plugins()), HANG_GUARD_S))


def results(out: Path) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in lines(out / "results.jsonl")}


@pytest.mark.parametrize("backend", ["litellm", "openai_compat"])
def test_a_reply_over_the_cap_fails_its_item_in_one_line(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(lambda body: official_answer(True)) as server:
        server.faults = ["huge"]  # the first call answers 4 MiB
        guarded_run(via(server, backend, "run.concurrency=1", "run.retries=2",
                        "model.max_reply_bytes=1000000"), tmp_path / "r", limit=2)  # fmt: skip
    statuses = sorted((r["status"], r.get("error") or "") for r in results(tmp_path / "r").values())
    assert [s for s, _ in statuses] == ["backend_error", "ok"]
    error = statuses[0][1]
    assert "reply too large" in error and "model.max_reply_bytes is 1,000,000" in error
    assert "\n" not in error
    assert len(server.requests) == 2  # refused for good: not asked again
    assert (tmp_path / "r" / "steps.jsonl").stat().st_size < 200_000  # nothing huge stored


def test_openai_compat_stops_reading_an_endless_reply(tmp_path: Path) -> None:
    with FakeOpenAI(lambda body: official_answer(True)) as server:
        server.faults = ["endless"]
        guarded_run(via(server, "openai_compat", "run.concurrency=1",
                        "model.max_reply_bytes=1000000"), tmp_path / "r", limit=2)  # fmt: skip
        sent = server.streamed_bytes
    failed = [r for r in results(tmp_path / "r").values() if r["status"] != "ok"]
    assert len(failed) == 1 and "stopped reading" in failed[0]["error"]
    # the client hung up after its megabyte; what else was sent sat in socket buffers
    assert sent < 64 * 1024 * 1024, sent


@pytest.mark.parametrize("fault", ["429days", "429date"])
@pytest.mark.parametrize("backend", ["litellm", "openai_compat"])
def test_a_retry_after_of_days_fails_the_call_at_once(
    tmp_path: Path, backend: str, fault: str
) -> None:
    with FakeOpenAI(lambda body: official_answer(True)) as server:
        server.faults = [fault]
        guarded_run(via(server, backend, "run.concurrency=1", "run.retries=3"),
                    tmp_path / "r", limit=2)  # fmt: skip
    failed = [r for r in results(tmp_path / "r").values() if r["status"] != "ok"]
    assert len(failed) == 1 and failed[0]["status"] == "backend_error"
    assert (
        "Retry-After" in failed[0]["error"]
        and "run.max_retry_after_s (120 s)" in failed[0]["error"]
    )
    assert len(server.requests) == 2  # no retry of the refused call


def test_a_retry_after_under_the_cap_is_waited_for(tmp_path: Path) -> None:
    with FakeOpenAI(lambda body: official_answer(True)) as server:
        server.faults = ["429"]  # Retry-After: 0.2
        outcome = guarded_run(via(server, "openai_compat", "run.max_retry_after_s=1"),
                              tmp_path / "r", limit=1)  # fmt: skip
    assert outcome.n_done == 1 and len(server.requests) == 2


def test_retry_after_values() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None
    for unusable in ("soon", "-3", "nan", "inf", "1e400", ["1"]):
        assert parse_retry_after(unusable) is None, unusable
    from email.utils import formatdate

    assert parse_retry_after(formatdate(0, usegmt=True)) == 0.0  # in the past: no wait
    future = parse_retry_after(formatdate(4_000_000_000, usegmt=True))
    assert future is not None and future > 10**8


ABSURD = ["hugeusage", "negusage", "nanusage", "infusage"]


@pytest.mark.parametrize("backend", ["litellm", "openai_compat"])
def test_absurd_usage_figures_are_counted_as_zero_and_noted(tmp_path: Path, backend: str) -> None:
    with FakeOpenAI(lambda body: official_answer(True)) as server:
        server.faults = list(ABSURD)
        guarded_run(via(server, backend, "run.concurrency=1", "run.retries=0"),
                    tmp_path / "r", limit=4)  # fmt: skip
    done = results(tmp_path / "r")
    assert len(done) == 4
    for record in done.values():  # never a "plugin bug" (a backend that raised)
        assert "raised" not in (record.get("error") or "")
    steps = lines(tmp_path / "r" / "steps.jsonl")
    noted = [s for s in steps if any("not believable" in n for n in s.get("notes", []))]
    believed = {"openai_compat": 4, "litellm": 2}[backend]  # litellm refuses NaN and Infinity
    assert len(noted) == believed
    for step in noted:
        usage = step["calls"][0]["usage"]
        assert usage["input_tokens"] == usage["output_tokens"] == 0
    if backend == "litellm":
        refused = [r for r in done.values() if r["status"] == "backend_error"]
        assert len(refused) == 2
        assert all("not finite numbers" in r["error"] and "\n" not in r["error"] for r in refused)
    json.loads((tmp_path / "r" / "usage.json").read_text())  # the accounting still reads


class _Odd(ModelBackend):
    """A third-party backend reporting nonsense usage (counted as 0 by the client)."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(
            text="Correctness: Correct\nFinal Answer: 1", model="odd",
            input_tokens=10**400, output_tokens=-1, cost_usd=float("nan"),  # type: ignore[arg-type]
        )  # fmt: skip


def test_any_backend_s_usage_is_bounded_by_the_client(tmp_path: Path) -> None:
    from mmrefine_agent.plugins_manager import load_plugins

    config = build_config({"name": "t"}, ["data.limit=1", "judge.name=offline", "run.cache=false"])
    outcome = asyncio.run(
        arun(config, tmp_path / "r", plugins=load_plugins(), backend=_Odd(config.model))
    )
    assert outcome.n_done == 1
    step = lines(tmp_path / "r" / "steps.jsonl")[0]
    assert step["calls"][0]["usage"]["input_tokens"] == 0
    assert any("input_tokens=a 401-digit number" in n for n in step["notes"])


BOMB = "".join(
    f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "x"] * 10) + "]\n" for i in range(10)
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (BOMB, "alias bomb"),
        ("name: x\nmodel: &m {params: {again: *m}}\n", "recursive alias"),
        ("name: x\nl: &l [1, [2, *l]]\n", "recursive alias"),
    ],
    ids=["billion-laughs", "recursive-mapping", "recursive-list"],
)
def test_yaml_alias_bombs_and_recursive_aliases_are_refused(
    tmp_path: Path, text: str, reason: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    result = mmrefine("run", str(config), "--out", str(tmp_path / "r"))
    assert result.returncode == 2, result.stderr
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    from mmrefine_agent.config import load_config

    config = tmp_path / "c.yaml"
    config.write_text(
        "model: {params: &sampling {temperature: 0, max_tokens: 64}}\njudge: {params: *sampling}\n"
    )
    loaded = load_config(config)
    assert loaded.judge.params == loaded.model.params == {"temperature": 0, "max_tokens": 64}
    with pytest.raises(ConfigError, match="recursive alias"):
        build_config({}, ["model.params=&p {a: *p}"])


def test_a_misspelt_backend_option_is_refused_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "r"
    base = ["run", "configs/paper_single_pass.yaml", "--out", str(out), "--limit", "1",
            "--set", "judge.name=offline"]  # fmt: skip
    typo = mmrefine(*base, "--set", "model.backend=openai_compat",
                    "--set", "model.api_base=http://127.0.0.1:9/v1",
                    "--set", "model.options.text_onyl=true")  # fmt: skip
    assert typo.returncode == 2, typo.stderr
    assert "model.options.text_onyl" in typo.stderr and "did you mean 'text_only'" in typo.stderr
    assert not out.exists()
    scripted = mmrefine(
        *base, "--set", "model.backend=scripted", "--set", f"model.options.scirpt={SCRIPT}"
    )
    assert scripted.returncode == 2 and "did you mean 'script'" in scripted.stderr
    judged = mmrefine(*base[:-2], "--set", "judge.name=mmrefine_official",
                      "--set", "judge.backend=openai_compat",
                      "--set", "judge.api_base=http://127.0.0.1:9/v1",
                      "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
                      "--set", "judge.options.cost_per_milion={input: 1}")  # fmt: skip
    assert judged.returncode == 2 and "judge.options.cost_per_milion" in judged.stderr
    assert "did you mean 'cost_per_million'" in judged.stderr and not out.exists()
    listing = mmrefine("plugins")
    assert "options: text_only, cost_per_million" in " ".join(listing.stdout.split())


def test_a_backend_that_declares_no_options_accepts_any() -> None:
    class Legacy(ModelBackend):
        async def complete(self, request: ModelRequest) -> ModelResponse:
            return ModelResponse(text="", model="legacy")

    class Declared(Legacy):
        options_doc: ClassVar[dict[str, str] | None] = {"speed": "how fast"}

    Legacy(ModelConfig(backend="legacy", options={"anything": 1}))
    Declared(ModelConfig(backend="declared", options={"speed": 1}))
    with pytest.raises(ConfigError, match=r"model\.options\.sped: backend 'declared'.*'speed'"):
        Declared(ModelConfig(backend="declared", options={"sped": 1}))


NASTY = "\x1b]52;c;ZXZpbA==\x07\x1b[2J[/][bold red]"


def _crafted_rows(data_dir: Path, tmp_path: Path, *, image: bytes | None = None) -> Path:
    from test_dataset import _write_rows

    from mmrefine_agent.data.mmrefine import read_rows

    rows = [dict(r) for r in read_rows(data_dir / "MMRefine_test.parquet")][:6]
    for row in rows:
        row["error_type"] = f"Perception {NASTY} Error"
        row["solution_source"] = f"{row['solution_source']}{NASTY}"
    if image is not None:
        rows[2]["image"] = {"bytes": image, "path": "bad.png"}
    return _write_rows(tmp_path / "crafted.parquet", rows)


def test_dataset_text_cannot_drive_the_terminal(data_dir: Path, tmp_path: Path) -> None:
    parquet = _crafted_rows(data_dir, tmp_path)
    nasty_script = tmp_path / "other.yaml"
    nasty_script.write_text(json.dumps({"default": f"Correctness: Incorrect {NASTY}"}))
    a, b = tmp_path / "a", tmp_path / "b"
    assert scripted_run(a, "--set", f"data.parquet={parquet}").returncode == 0
    second = scripted_run(
        b, "--set", f"data.parquet={parquet}", "--set", f"model.options.script={nasty_script}"
    )
    assert second.returncode == 0, second.stderr
    key = lines(a / "results.jsonl")[0]["key"]
    by = ["--by", "error_type", "--by", "solution_source", "--by", "round", "--by", "localisation"]
    outputs = [
        mmrefine("compare", str(a), str(b), "--changed", "10"),
        mmrefine("report", str(a), *by),
        mmrefine("trace", str(a), key),
        mmrefine("trace", str(a)),
        mmrefine("report", str(b), "--by", "error_type"),
    ]
    for result in outputs:
        assert result.returncode in (0, 1), result.stderr
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout
        assert "Traceback" not in result.stderr
    assert "Perception" in outputs[1].stdout and "[/][bold red]" in outputs[1].stdout


def test_an_undecodable_image_fails_its_row_the_same_way_on_every_resume(
    data_dir: Path, tmp_path: Path
) -> None:
    parquet = _crafted_rows(data_dir, tmp_path, image=b"GIF89a not really an image at all")
    out = tmp_path / "r"
    for _ in range(3):
        result = mmrefine(
            "run", "configs/paper_single_pass.yaml", "--limit", "6", "--out", str(out),
            "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
            "--set", "judge.name=offline", "--set", f"data.parquet={parquet}",
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
    bad = [r for r in lines(out / "results.jsonl") if r["status"] == "data_error"]
    assert len(bad) == 1  # recorded once, not once per resume
    assert "0x" not in bad[0]["error"]
    summary = " ".join(result.stdout.split())
    assert "data errors 1: field 'image': cannot decode image (1)" in summary, result.stdout


def test_known_failure_messages_get_whole_word_causes() -> None:
    row = "/d/MMRefine_test.parquet: row 3 (key 12_GPT-4o): field 'image': has no bytes"
    assert cause_of(row) == "field 'image': has no bytes"
    assert cause_of("detect: backend 'x' raised ValueError: boom") == (
        "detect: backend 'x' raised ValueError"
    )
    assert cause_of("detect: reply too large: 9 bytes; model.max_reply_bytes is 1") == (
        "reply too large"
    )


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(alphabet="abcdefg:;, ", min_size=1, max_size=9), max_size=30))
def test_a_cause_never_cuts_a_word(words: list[str]) -> None:
    message = " ".join(words)
    cause = cause_of(message)
    if cause == "unknown":
        return
    source = message.split()
    shown = cause.removesuffix("...").split()
    assert shown[:-1] == source[: len(shown) - 1]
    assert source[len(shown) - 1].startswith(shown[-1])
    assert len(shown) <= 8
