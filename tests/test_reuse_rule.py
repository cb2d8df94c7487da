"""The reuse rule: a new run directory always runs its graph; kills never tear an item's records.

A strategy plugin whose behaviour comes from a helper module it imports, or from a text file it
reads, is changed between two runs into two new directories: the second run shows the change
(its graph ran; only calls whose request is unchanged came from the call cache).
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from helpers import SCRIPT, mmrefine

STRATEGY = '''
"""A test strategy whose verify node reads a helper module and a prompt file."""
from pathlib import Path

import stale_helper
from mmrefine_agent import RegisterStrategy, hookimpl
from mmrefine_strategies.single_pass import SinglePass

PROMPT = Path(__file__).with_name("stale_prompt.txt")


class Stale(SinglePass):
    name = "stale"

    async def detect(self, state, ctx):
        answer = await ctx.ask(PROMPT.read_text() + "\\n" + ctx.item.question)
        return self.parse_answer(answer, ctx)

    async def verify(self, state, ctx):
        update = await super().verify(state, ctx)
        answer = update.get("final_answer") or state.get("final_answer") or ""
        return {**update, "final_answer": f"{answer} {stale_helper.CONSTANT}"}


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    register("stale", Stale)
'''


def write_plugin(folder: Path, constant: str, prompt: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "stale_helper.py").write_text(f"CONSTANT = {constant!r}\n")
    (folder / "stale_prompt.txt").write_text(prompt)
    plugin = folder / "stale_strategy.py"
    plugin.write_text(textwrap.dedent(STRATEGY))
    return plugin


def run_stale(plugin: Path, out: Path) -> None:
    result = mmrefine(
        "run", "configs/paper_single_pass.yaml", "--limit", "3", "--out", str(out),
        "--plugin", str(plugin), "--set", "strategy.name=stale",
        "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
        "--set", "judge.name=offline", "--quiet",
        env={"PYTHONPATH": str(plugin.parent)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def finals(out: Path) -> dict[str, str]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {r["key"]: r["final"]["final_answer"] for r in map(json.loads, lines)}


def prompts_sent(out: Path) -> set[str]:
    sent = set()
    for line in (out / "steps.jsonl").read_text().splitlines():
        step = json.loads(line)
        for call in step.get("calls") or []:
            for message in call.get("messages") or []:
                sent.add(message.get("text", "").split("\n")[0])
    return sent


def test_a_changed_helper_module_shows_in_a_new_run(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "plug", "OLD-CONSTANT", "Review this.")
    run_stale(plugin, tmp_path / "first")
    assert all(a.endswith("OLD-CONSTANT") for a in finals(tmp_path / "first").values())
    write_plugin(tmp_path / "plug", "NEW-CONSTANT", "Review this.")
    run_stale(plugin, tmp_path / "second")
    second = finals(tmp_path / "second")
    assert len(second) == 3
    assert all(a.endswith("NEW-CONSTANT") for a in second.values()), second
    lines = (tmp_path / "second" / "results.jsonl").read_text()
    assert '"replayed":true' not in lines


def test_a_changed_prompt_file_shows_in_a_new_run(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "plug", "C", "First wording of the prompt.")
    run_stale(plugin, tmp_path / "first")
    assert "First wording of the prompt." in prompts_sent(tmp_path / "first")
    write_plugin(tmp_path / "plug", "C", "Second wording of the prompt.")
    run_stale(plugin, tmp_path / "second")
    sent = prompts_sent(tmp_path / "second")
    assert "Second wording of the prompt." in sent
    assert "First wording of the prompt." not in sent
    usage = json.loads((tmp_path / "second" / "usage.json").read_text())
    # the changed request missed the cache and was sent (once per distinct question)
    assert usage["refine"]["calls"] >= 1


def test_a_retired_reuse_key_is_refused_with_the_reason(tmp_path: Path) -> None:
    result = mmrefine(
        "run", "configs/quickstart.yaml", "--out", str(tmp_path / "r"),
        "--set", "run.replay=false",
    )  # fmt: skip
    assert result.returncode == 2
    assert "run.replay" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


KILLER = '''
"""An observer that kills its own process on the N-th event of one kind (after it was written)."""
import os
import signal

from mmrefine_agent import hookimpl

KIND = os.environ.get("KILL_ON", "none")  # commands reading the run load it too
NTH = int(os.environ.get("KILL_AT", "0"))
seen = 0


def _count(kind):
    global seen
    if kind == KIND:
        seen += 1
        if seen == NTH:
            os.kill(os.getpid(), signal.SIGKILL)


@hookimpl
def mmrefine_observe_step(step, run):
    _count("step")


@hookimpl
def mmrefine_observe_judgment(record, run):
    _count("judge")


@hookimpl
def mmrefine_observe_item(result, run):
    _count("item")
'''


def record_counts(out: Path) -> tuple[dict[str, str], Counter[str], Counter[str]]:
    results: dict[str, str] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            results[record["key"]] = record["status"]
    steps: Counter[str] = Counter()
    for line in (out / "steps.jsonl").read_text().splitlines():
        if line.strip():
            steps[json.loads(line)["item_key"]] += 1
    calls: Counter[str] = Counter()
    judgments = out / "judgments.jsonl"
    for line in judgments.read_text().splitlines() if judgments.is_file() else []:
        if line.strip():
            calls[json.loads(line)["item_key"]] += 1
    return results, steps, calls


def killed_run(out: Path, killer: Path, kind: str, nth: int, *extra: str) -> int:
    result = mmrefine(
        "run", "configs/paper_single_pass.yaml", "--limit", "6", "--out", str(out),
        "--plugin", str(killer), "--set", "model.backend=scripted",
        "--set", f"model.options.script={SCRIPT}", "--set", "judge.name=offline",
        "--set", "run.concurrency=2", "--quiet", *extra,
        env={"KILL_ON": kind, "KILL_AT": str(nth)},
    )  # fmt: skip
    return result.returncode


@pytest.mark.parametrize(("kind", "nth"), [("step", 1), ("step", 7), ("judge", 2), ("item", 3)])
def test_a_kill_never_leaves_a_finished_item_without_its_records(
    tmp_path: Path, kind: str, nth: int
) -> None:
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    reference = tmp_path / "reference"
    assert killed_run(reference, killer, "none", 1) == 0
    _results, want_steps, want_calls = record_counts(reference)

    out = tmp_path / "killed"
    assert killed_run(out, killer, kind, nth) == -signal.SIGKILL
    for attempt in range(2):  # the kill, then a resume killed as well
        results, steps, calls = record_counts(out)
        for key, status in results.items():
            if status == "ok":  # recorded as finished: every step and judge call is there
                assert steps[key] == want_steps[key], (attempt, key)
                assert calls[key] == want_calls[key], (attempt, key)
        if attempt == 0:
            killed_run(out, killer, kind, nth)
    assert killed_run(out, killer, "none", 1) == 0  # a last resume completes the run
    results, steps, calls = record_counts(out)
    assert set(results) == set(want_steps) and set(results.values()) == {"ok"}
    assert steps == want_steps
    assert all(os.path.getsize(out / name) for name in ("scores.json", "submission.json"))
