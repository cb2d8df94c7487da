"""Final answers checked ahead, in a helper process: the same scores, decided off the main path.

Real parts: a spawned helper process (math-verify in its own interpreter), the scripted backend
and offline judge of a real run, scores.json read back from disk.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import scripted_config

from mmrefine_agent.engine import answers_ahead
from mmrefine_agent.engine.answers_ahead import AnswersAhead, pairs_asked, wanted
from mmrefine_agent.engine.run import arun
from mmrefine_agent.events import ItemFinished, RunInfo
from mmrefine_agent.judging import answers
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_agent.records.models import ItemResult, RoundSummary
from mmrefine_agent.types import Item


def item(key: str, answer: str, options: list[str] | None = None) -> Item:
    return Item(
        key=key, id=key.split("_")[0], question="q", options=tuple(options or ()), image=None,
        answer=answer, initial_solution="Step 1: x", label="incorrect", reference_feedback=None,
        error_type=None, source="s",
    )  # fmt: skip


def finished(key: str, *final_answers: str | None, status: str = "ok") -> ItemFinished:
    result = ItemResult(
        key=key, id=key.split("_")[0], status=status,  # type: ignore[arg-type]
        rounds=[RoundSummary(round=n, final_answer=a) for n, a in enumerate(final_answers, 1)],
    )  # fmt: skip
    return ItemFinished(run=RunInfo(run_dir=Path("."), config=None), result=result)  # type: ignore[arg-type]


@pytest.fixture()
def fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's math-verify memos start empty (and are restored after the test)."""
    monkeypatch.setattr(answers, "_settled", {})
    monkeypatch.setattr(answers, "_parsed", {})


def test_pairs_asked_are_what_scoring_asks_math_verify() -> None:
    gold_item = item("1_a", "0.5")
    letter_item = item("2_a", "B", ["3", "1/2"])
    # an answer equal after normalisation is never asked; a letter is read without math-verify
    assert pairs_asked(finished("1_a", "0.5").result, gold_item) == []
    assert pairs_asked(finished("1_a", "\\frac{1}{2}", None, "").result, gold_item) == [
        ("\\frac{1}{2}", "0.5")
    ]
    assert pairs_asked(finished("2_a", "B").result, letter_item) == []
    assert pairs_asked(finished("2_a", "0.5").result, letter_item) == [("0.5", "1/2")]
    assert pairs_asked(finished("1_a", "7").result, item("1_a", "  ")) == []  # no gold


def test_wanted_follows_the_setting() -> None:
    assert wanted("ahead", 1) and not wanted("ahead", 0)
    assert not wanted("at_finish", 10_000)
    assert wanted("auto", answers_ahead.AUTO_MIN_ITEMS)
    assert not wanted("auto", answers_ahead.AUTO_MIN_ITEMS - 1)


def test_the_helper_decides_and_the_decisions_are_installed_here(fresh_memo: None) -> None:
    items = {"1_a": item("1_a", "0.5"), "2_a": item("2_a", "3")}
    ahead = AnswersAhead(items, None)
    ahead.sink(finished("1_a", "\\frac{1}{2}", "0.25"))
    ahead.sink(finished("2_a", "x^2", status="backend_error"))  # not refined: not scored
    ahead.sink(finished("2_a", "\\sqrt{9}"))
    ahead.sink(finished("1_a", "\\frac{1}{2}"))  # asked already: not sent again
    assert ahead.n_sent == 3
    assert answers._settled == {}  # nothing decided in this process yet
    ahead.install()
    assert ahead.n_installed == 3
    assert answers._settled == {
        ("\\frac{1}{2}", "0.5"): True,
        ("0.25", "0.5"): False,
        ("\\sqrt{9}", "3"): True,
    }
    assert answers._parsed == {}  # math-verify never ran here


def test_a_helper_that_cannot_start_leaves_the_answers_to_finish(
    fresh_memo: None, tmp_path: Path
) -> None:
    ahead = AnswersAhead({"1_a": item("1_a", "0.5")}, None, command=[str(tmp_path / "no-python")])
    ahead.sink(finished("1_a", "\\frac{1}{2}"))
    ahead.sink(finished("1_a", "1/2"))
    ahead.install()
    assert ahead.n_installed == 0 and answers._settled == {}


def test_a_helper_that_dies_leaves_the_answers_to_finish(fresh_memo: None) -> None:
    ahead = AnswersAhead(
        {"1_a": item("1_a", "0.5")}, None, command=[sys.executable, "-c", "print('[[')"]
    )
    ahead.sink(finished("1_a", "\\frac{1}{2}"))
    time.sleep(0.5)
    ahead.sink(finished("1_a", "2/4"))  # the pipe is gone: no error, the rest left to finish
    ahead.install()
    assert ahead.n_installed == 0 and answers._settled == {}


def test_a_stuck_helper_is_waited_for_only_the_grace_period(fresh_memo: None) -> None:
    stuck = [sys.executable, "-c", "import time; time.sleep(60)"]
    ahead = AnswersAhead({"1_a": item("1_a", "0.5")}, None, command=stuck)
    ahead.sink(finished("1_a", "\\frac{1}{2}"))
    started = time.monotonic()
    ahead.install(grace_s=0.5)
    assert time.monotonic() - started < 10  # the helper was stopped, not waited for
    assert ahead.n_installed == 0 and answers._settled == {}


def test_the_helper_never_runs_the_callers_script(tmp_path: Path) -> None:
    """Unlike a multiprocessing 'spawn' child, the helper does not import ``__main__``."""
    marker = tmp_path / "ran"
    script = tmp_path / "experiment.py"  # no __main__ guard, as a quick experiment is written
    script.write_text(
        "import pathlib, sys\n"
        f"pathlib.Path({str(marker)!r}).open('a').write('x')\n"
        "from mmrefine_agent.engine.answers_ahead import AnswersAhead\n"
        "from mmrefine_agent.judging import answers\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_answers_ahead import finished, item\n"
        "ahead = AnswersAhead({'1_a': item('1_a', '0.5')}, None)\n"
        "ahead.sink(finished('1_a', '\\\\frac{1}{2}'))\n"
        "ahead.install()\n"
        "print(ahead.n_installed, answers._settled)\n"
    )
    shown = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert shown.stdout.split()[0] == "1"
    assert marker.read_text() == "x"  # the script ran once: in its own process only


def config(*extra: str):
    return scripted_config("run.cache=false", *extra, limit=12)


def scores(out: Path) -> dict:
    data = json.loads((out / "scores.json").read_text())
    for volatile in ("usage", "usage_by_node"):
        data.pop(volatile, None)
    return data


def test_a_run_checking_answers_ahead_scores_what_one_checking_at_finish_does(
    tmp_path: Path, fresh_memo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = load_plugins()
    at_finish = asyncio.run(
        arun(config("run.answer_checks=at_finish"), tmp_path / "a", plugins=plugins)
    )
    assert at_finish.complete and answers._parsed  # math-verify ran here, at finish
    monkeypatch.setattr(answers, "_settled", {})
    monkeypatch.setattr(answers, "_parsed", {})
    import math_verify

    def not_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("math-verify ran in the run's own process")

    # the helper is a fresh interpreter: only this process's math-verify is broken
    monkeypatch.setattr(math_verify, "parse", not_here)
    ahead = asyncio.run(arun(config("run.answer_checks=ahead"), tmp_path / "b", plugins=plugins))
    assert ahead.complete
    assert answers._settled and answers._parsed == {}
    assert scores(tmp_path / "b") == scores(tmp_path / "a")
