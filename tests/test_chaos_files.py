"""Chaos: the user's files and run directories (issue 24).

Every case ends with the user's files untouched, a one-line message (no traceback), and a run
directory that every command still reads: someone else's directory is never written into or
deleted from, a garbled end of a run file never makes the run unreadable, the config's name
never leads out of run.out_dir, the call cache never follows a link, and a report killed
while being written leaves the report that was there.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from helpers import mmrefine, scripted_config, scripted_run

from mmrefine_agent.errors import ConfigError, RunDirError


def arun_scripted(out: Path, *extra: str, limit: int = 4):  # type: ignore[no-untyped-def]
    from mmrefine_agent.engine.run import arun

    return asyncio.run(arun(scripted_config(*extra, limit=limit), out))


def one_error(stderr: str) -> bool:
    """One error message (rich may wrap it at the terminal width), no traceback."""
    return stderr.count("error:") == 1 and "Traceback" not in stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- someone else's directory -------------------------------------------------------------


def test_out_at_a_directory_mmrefine_did_not_make_is_refused_untouched(tmp_path: Path) -> None:
    mine = tmp_path / "my_project"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: own config\n")
    (mine / "results.csv").write_text("a,b\n1,2\n")
    before = snapshot(mine)
    for extra in ((), ("--restart",)):
        result = scripted_run(mine, *extra, limit=2)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "not a run directory mmrefine made" in result.stderr and one_error(result.stderr)
        assert snapshot(mine) == before and sorted(p.name for p in mine.iterdir()) == [
            "config.yaml",
            "results.csv",
        ]  # not even a lock file
    judged = mmrefine("judge", str(mine), "--set", "judge.name=offline")
    assert judged.returncode == 2 and snapshot(mine) == before
    with pytest.raises(RunDirError):
        arun_scripted(mine)
    assert snapshot(mine) == before


def test_sweep_and_submission_outs_are_checked_the_same_way(tmp_path: Path) -> None:
    import yaml

    from mmrefine_agent.engine.rejudge import score_submission
    from mmrefine_agent.plugins_manager import load_plugins

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    before = snapshot(mine)
    config = tmp_path / "sweep.yaml"
    config.write_text(yaml.safe_dump({"name": "s", "grid": {"strategy.max_rounds": [1]}}))
    result = mmrefine("sweep", str(config), "--out", str(mine), "--quiet")
    assert result.returncode == 2 and "not a sweep directory" in result.stderr
    submission = tmp_path / "sub.json"
    submission.write_text("{}")
    with pytest.raises(RunDirError, match="not a run directory"):
        asyncio.run(score_submission(submission, mine, load_plugins(),
                                     overrides=["judge.name=offline"]))  # fmt: skip
    assert snapshot(mine) == before


@pytest.mark.parametrize(
    ("config_text", "results_text"),
    [
        ("precious notes\n", "data\n"),  # a run's file names, not its files
        ("model: x\nstrategy: y\n", '{"key": "k"}\n'),  # not a config's sections
        ("model: {}\nstrategy: {}\n", "not json\n"),  # a config, no result line
    ],
)
def test_a_directory_with_a_runs_file_names_is_not_taken_for_one(
    tmp_path: Path, config_text: str, results_text: str
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text(config_text)
    (mine / "results.jsonl").write_text(results_text)
    before = snapshot(mine)
    for extra in ((), ("--restart",)):
        result = scripted_run(mine, *extra, limit=1)
        assert result.returncode == 2 and "not a run directory mmrefine made" in result.stderr
        assert snapshot(mine) == before


def test_new_empty_and_earlier_run_directories_are_used(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert arun_scripted(empty, limit=2).complete
    marker = json.loads((empty / "mmrefine.json").read_text())
    assert marker["kind"] == "run" and marker["version"] >= 1
    # a run directory an earlier version made (no marker) is recognised by its files
    (empty / "mmrefine.json").unlink()
    assert arun_scripted(empty, limit=2).complete
    assert (empty / "mmrefine.json").is_file()
    # --restart in a run directory deletes only the run's own files
    (empty / "my_notes.txt").write_text("kept")
    assert scripted_run(empty, "--restart", limit=2).returncode == 0
    assert (empty / "my_notes.txt").read_text() == "kept"


# --- a garbled end of a run file ----------------------------------------------------------


@pytest.mark.parametrize("name", ["results.jsonl", "steps.jsonl", "judgments.jsonl"])
def test_a_power_loss_tail_is_skipped_then_moved_aside_and_the_run_stays_readable(
    tmp_path: Path, name: str
) -> None:
    from mmrefine_agent import open_run

    out = tmp_path / "r"
    assert arun_scripted(out, limit=3).complete
    results = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    (out / "results.jsonl").write_bytes(b"".join(results[:-1]))  # the last item: unfinished
    garbage = b"\0" * 4096 + b"\n"
    with (out / name).open("ab") as handle:
        handle.write(garbage)
    view = open_run(out)  # readers skip it (with a warning), they do not refuse the run
    assert len(view.results) == 2 and view.steps
    resumed = scripted_run(out, limit=3)  # the resume redoes one item, appending after the cut
    assert resumed.returncode == 0, resumed.stderr
    assert "moved to" in resumed.stderr and "Traceback" not in resumed.stderr
    aside = list(out.glob(f"{name}.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage  # kept, not dropped
    for line in (out / name).read_bytes().splitlines():
        json.loads(line)  # every line readable again
    for command in (("report", str(out)), ("trace", str(out))):
        assert mmrefine(*command).returncode == 0
    assert len(open_run(out).results) == 3


def test_a_torn_last_line_is_cut_silently_and_a_complete_one_gets_its_newline(
    tmp_path: Path,
) -> None:
    from mmrefine_agent.records.jsonl_tail import cut_unreadable_tail
    from mmrefine_agent.records.rundir import read_jsonl

    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    assert read_jsonl(torn) == [{"a": 1}, {"b": 2}]
    cut_unreadable_tail(torn)
    assert torn.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert not list(tmp_path.glob("*.unreadable-*"))
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(b'{"a": 1}\n{"b": 2}')
    cut_unreadable_tail(whole)
    assert whole.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    middle = tmp_path / "middle.jsonl"
    middle.write_bytes(b'{"a": 1}\n\0\0\0\n{"b": 2}\n')  # garbage followed by a record: refused
    with pytest.raises(RunDirError, match="line 2"):
        read_jsonl(middle)


def test_tail_cutting_keeps_exactly_the_readable_lines() -> None:
    import tempfile

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mmrefine_agent.records.jsonl_tail import cut_unreadable_tail
    from mmrefine_agent.records.rundir import read_jsonl

    records = st.lists(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), max_size=5)
    junk = st.lists(
        st.one_of(st.just(b"\0" * 70000), st.binary(min_size=1, max_size=40)), max_size=3
    )

    @settings(max_examples=60, deadline=None)
    @given(records, junk, st.booleans(), st.booleans())
    def check(good: list[dict], bad: list[bytes], big: bool, newline: bool) -> None:
        if big:
            good = [*good, {"big": "x" * 70000}]  # a line longer than one block read
        lines = [json.dumps(r).encode() for r in good]
        bad = [b.replace(b"\n", b" ") for b in bad]
        bad = [b for b in bad if b.strip() and not _parses(b)]
        body = b"\n".join([*lines, *bad]) + (b"\n" if newline and (lines or bad) else b"")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "f.jsonl"
            path.write_bytes(body)
            assert read_jsonl(path) == good
            cut_unreadable_tail(path)
            assert read_jsonl(path) == good
            expected = b"".join(line + b"\n" for line in lines)
            assert path.read_bytes() == expected

    check()


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


# --- the name, the cache, the report ------------------------------------------------------


@pytest.mark.parametrize("name", ["../escaped", "/tmp/abs", "a/b", "..", "", "x\x1b[2J"])
def test_a_name_that_is_not_one_directory_name_is_refused(tmp_path: Path, name: str) -> None:
    from mmrefine_agent.config import build_config

    with pytest.raises(ConfigError, match="'name': must be a plain directory name"):
        build_config({"name": name})
    assert build_config({"name": name}, stored=True).name == name  # an old run still opens


def test_a_climbing_name_fails_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("name: ../../escaped\njudge: {name: offline}\n")
    runs = tmp_path / "work" / "runs"
    result = mmrefine("run", str(config), "--set", f"run.out_dir={runs}", "--limit", "1")
    assert result.returncode == 2
    assert "'name': must be a plain directory name" in result.stderr and one_error(result.stderr)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "work").exists()


@pytest.mark.parametrize("link", ["database", "directory"])
def test_a_symlinked_cache_is_never_followed(tmp_path: Path, link: str) -> None:
    other = tmp_path / "other_app"
    other.mkdir()
    db = sqlite3.connect(other / "places.sqlite")
    db.execute("CREATE TABLE bookmarks (url TEXT)")
    db.commit()
    db.close()
    before = snapshot(other)
    cache = tmp_path / "cache"
    if link == "database":
        cache.mkdir()
        (cache / "calls.sqlite3").symlink_to(other / "places.sqlite")
    else:
        cache.symlink_to(other)
    result = scripted_run(tmp_path / "r", "--set", f"run.cache_dir={cache}", limit=2)
    assert result.returncode == 0, result.stderr
    assert "symbolic link" in result.stderr and "running without it" in result.stderr
    assert snapshot(other) == before  # no table, no file, no journal in the other app's folder


KILL_ON_REPLACE = '''
"""Kills its own process when a file is about to be renamed onto an .html path."""
import os
import signal

_replace = os.replace


def replace(src, dst, *args, **kwargs):
    if str(dst).endswith(".html"):
        os.kill(os.getpid(), signal.SIGKILL)
    return _replace(src, dst, *args, **kwargs)


os.replace = replace
'''

KILL_ON_WRITE = '''
"""Kills its own process in the middle of writing a file whose name ends in .html."""
import os
import pathlib
import signal

_write_text = pathlib.Path.write_text


def write_text(self, data, *args, **kwargs):
    if ".html" in self.name:
        with open(self, "w", encoding="utf-8") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return _write_text(self, data, *args, **kwargs)


pathlib.Path.write_text = write_text
'''


@pytest.mark.parametrize("killer", [KILL_ON_REPLACE, KILL_ON_WRITE])
def test_a_report_killed_while_written_leaves_the_old_report(tmp_path: Path, killer: str) -> None:
    out = tmp_path / "r"
    assert scripted_run(out, limit=2).returncode == 0
    page = tmp_path / "report.html"
    assert mmrefine("report", str(out), "--html", str(page)).returncode == 0
    good = page.read_bytes()
    startup = tmp_path / "startup"
    startup.mkdir()
    (startup / "sitecustomize.py").write_text(killer)  # imported as the process starts
    killed = mmrefine("report", str(out), "--html", str(page), env={"PYTHONPATH": str(startup)})
    assert killed.returncode == -signal.SIGKILL
    assert page.read_bytes() == good
    assert os.path.getsize(page) > 1000
