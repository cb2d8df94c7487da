"""``run.processes``: one run over the driver and worker processes on this machine.

Every run talks to a real loopback OpenAI-compatible server (tests/fake_openai.py) through the
openai_compat backend with the official judge; the server counts the requests it holds in
flight per model, so the shared limits are checked where a provider would feel them. Worker
processes are real children (``python -m``); the tests check none is left behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, JudgeScript
from helpers import mmrefine, start_run, wait_for_results

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.executors.processes import ITEMS_PER_PROCESS, cores, processes_for
from mmrefine_agent.engine.run import RunOutcome, arun
from mmrefine_agent.plugins_manager import load_plugins, register_object
from mmrefine_plugins.backends.openai_compat import OpenAICompatBackend

DATA = Path(__file__).resolve().parent / "data"
BACKENDS = DATA / "proc_backends.py"
VOLATILE = {"timestamp", "ended", "latency_s", "elapsed_s"}


def overrides(server: FakeOpenAI, *extra: str, limit: int = 12) -> list[str]:
    """The paper protocol on ``server``: openai_compat for the model and the official judge."""
    return [
        f"data.limit={limit}",
        "strategy.name=single_pass",
        "model.backend=openai_compat",
        "model.name=refiner",
        f"model.api_base={server.base_url}",
        "judge.name=mmrefine_official",
        "judge.backend=openai_compat",
        "judge.model=judge",
        f"judge.api_base={server.base_url}",
        "run.cache=false",
        "run.retries=1",
        "run.backoff_s=0.01",
        *extra,
    ]


def run(out: Path, settings: list[str], *, plugins: Any = None, **options: Any) -> RunOutcome:
    config = build_config({"name": "t"}, settings)
    return asyncio.run(arun(config, out, plugins=plugins or load_plugins(), **options))


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def records(out: Path, name: str) -> list[str]:
    """A run file's records without timing fields, in a fixed order."""
    lines = (out / name).read_text().splitlines()
    return sorted(json.dumps(_stable(json.loads(line)), sort_keys=True) for line in lines)


def usage(out: Path) -> dict[str, Any]:
    document = json.loads((out / "usage.json").read_text())
    return {role: _stable(document[role]) for role in ("refine", "judge")}


def children() -> list[int]:
    """Processes whose parent is this one and that run the worker module (zombies too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"proc_worker" in cmdline:
            found.append(int(entry.name))
    return found


def test_two_processes_equal_one_within_the_limits(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    marking = ["model.backend=marks_pid", f"model.options.pid_dir={pids}"]
    plugins = load_plugins([str(BACKENDS)])
    with FakeOpenAI(JudgeScript(), latency_s=0.05) as server:
        one = run(tmp_path / "one", overrides(server, *marking, "run.processes=1"),
                  plugins=plugins)  # fmt: skip
        assert one.complete, one.errors
        calls = len(server.requests)
        assert {p.name for p in pids.iterdir()} == {str(os.getpid())}
        server.max_in_flight.clear()
        limits = ("run.concurrency=3", "judge.concurrency=2", "run.processes=2")
        waits = f"model.options.driver_pid={os.getpid()}"  # until a worker has made a call
        two = run(tmp_path / "two", overrides(server, *marking, *limits, waits), plugins=plugins)
        peaks = dict(server.max_in_flight)
    assert two.complete, two.errors
    assert len({p.name for p in pids.iterdir()}) == 2  # a worker process refined items too
    assert len(server.requests) == 2 * calls  # every call made once more, none more
    for name in ("results.jsonl", "steps.jsonl", "judgments.jsonl"):
        assert records(tmp_path / "two", name) == records(tmp_path / "one", name), name
    assert usage(tmp_path / "two") == usage(tmp_path / "one")
    scores = [json.loads((tmp_path / d / "scores.json").read_text()) for d in ("one", "two")]
    assert _stable(scores[0]["overall"]) == _stable(scores[1]["overall"])
    # the limits hold over both processes together, at the server
    assert peaks["refiner"] <= 3 and peaks["judge"] <= 2, peaks
    assert children() == []


def test_budget_is_one_budget_over_both_processes(tmp_path: Path) -> None:
    # 10 prompt + 5 completion tokens per call at $1M/M tokens = $15 a call: $40 allows three
    # calls in all (one at a time); a budget per process would allow more
    priced = "model.options.cost_per_million={input: 1000000, output: 1000000}"
    with FakeOpenAI(JudgeScript()) as server:
        outcome = run(
            tmp_path / "out",
            overrides(server, "judge.name=offline", priced, "run.max_cost_usd=40",
                      "run.concurrency=1", "run.processes=2", limit=8),
        )  # fmt: skip
        calls = len(server.requests)
        # a resume starts from what the run spent: the budget is one for the run
        again = run(
            tmp_path / "out",
            overrides(server, "judge.name=offline", priced, "run.max_cost_usd=40",
                      "run.concurrency=1", "run.processes=2", limit=8),
        )  # fmt: skip
        assert len(server.requests) == calls
    assert calls == 3
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    statuses = sorted(json.loads(line)["status"] for line in lines[:8])
    assert statuses == ["budget"] * 5 + ["ok"] * 3
    assert not outcome.complete
    assert again.scores.completeness.failed == {"budget": 5}
    assert children() == []


def test_a_worker_that_dies_mid_item_has_its_items_redone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugins = load_plugins([str(BACKENDS)])
    with FakeOpenAI(JudgeScript(), latency_s=0.05) as server:
        marker = tmp_path / "died"
        dying = [
            *overrides(server, "run.processes=2", "run.concurrency=2"),
            "model.backend=dies_in_worker",
            f"model.options.driver_pid={os.getpid()}",
            f"model.options.marker={marker}",
        ]
        # the same backend in one process (its marker made: nothing dies, nothing waits)
        (tmp_path / "made").touch()
        same = [*dying, "run.processes=1", f"model.options.marker={tmp_path / 'made'}"]
        reference = run(tmp_path / "reference", same, plugins=plugins)
        assert reference.complete
        outcome = run(tmp_path / "out", dying, plugins=plugins)
    assert marker.exists()  # the worker process did die mid-item
    assert "ended mid-run (killed by SIGKILL)" in capsys.readouterr().err
    assert outcome.complete, outcome.errors  # its items were redone by the driver
    for name in ("results.jsonl", "steps.jsonl", "judgments.jsonl"):  # nothing doubled
        assert records(tmp_path / "out", name) == records(tmp_path / "reference", name), name
    assert children() == []


def test_a_worker_that_cannot_start_leaves_its_share_to_the_driver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "failed"
    monkeypatch.setenv("MMREFINE_TEST_DRIVER_PID", str(os.getpid()))
    monkeypatch.setenv("MMREFINE_TEST_MARKER", str(marker))
    plugins = load_plugins([str(BACKENDS), str(DATA / "no_import_in_worker.py")])
    with FakeOpenAI(JudgeScript(), latency_s=0.2) as server:
        settings = [  # the driver's calls wait until the worker failed to load the plugin
            *overrides(server, "run.processes=2", limit=4),
            "model.backend=dies_in_worker",
            f"model.options.driver_pid={os.getpid()}",
            f"model.options.marker={marker}",
        ]
        outcome = run(tmp_path / "out", settings, plugins=plugins)
    assert outcome.complete, outcome.errors
    err = capsys.readouterr().err
    assert "could not start" in err and "its share runs here" in err
    assert "Traceback" not in err
    assert children() == []


def test_backends_passed_as_objects_run_in_one_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI(JudgeScript()) as server:
        settings = overrides(server, "run.processes=2", limit=3)
        config = build_config({"name": "t"}, settings)
        backend = OpenAICompatBackend(config.model)
        outcome = run(tmp_path / "out", settings, backend=backend)
    assert outcome.complete, outcome.errors
    err = capsys.readouterr().err
    assert "run.processes=2: the model backend was passed as an object" in err
    assert "running in one process" in err
    assert children() == []


def test_a_plugin_registered_in_process_keeps_the_run_in_one_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Renamed:
        @staticmethod
        def mmrefine_register_backends(register: Any) -> None:
            register("in_process_compat", OpenAICompatBackend)

    plugins = load_plugins()
    register_object(plugins, Renamed(), "renamed")
    with FakeOpenAI(JudgeScript()) as server:
        settings = [*overrides(server, "run.processes=2", limit=3),
                    "model.backend=in_process_compat"]  # fmt: skip
        outcome = run(tmp_path / "out", settings, plugins=plugins)
    assert outcome.complete, outcome.errors
    assert "registered in-process" in capsys.readouterr().err


def test_sigint_and_sigkill_of_the_driver_end_its_workers_and_resume_completes(
    tmp_path: Path,
) -> None:
    with FakeOpenAI(JudgeScript(), latency_s=0.25) as server:
        base = ["run", "configs/paper_single_pass.yaml", "--quiet", "--out"]
        one = [x for o in overrides(server, "run.processes=1") for x in ("--set", o)]
        reference = mmrefine(*base, str(tmp_path / "reference"), *one)  # the same config file
        assert reference.returncode == 0, reference.stderr
        settings = [x for o in overrides(server, "run.processes=2", "run.concurrency=2")
                    for x in ("--set", o)]  # fmt: skip
        out = tmp_path / "killed"
        workers: set[int] = set()
        for stop in (signal.SIGINT, signal.SIGKILL):
            process = start_run([*base, str(out), *settings])
            before = (out / "results.jsonl").read_text().count("\n") if out.exists() else 0
            assert wait_for_results(out, "results.jsonl", before + 2, timeout_s=180) >= before + 2
            workers |= _children_of(process.pid)
            process.send_signal(stop)
            process.wait(30)
        deadline = time.time() + 15  # workers see the end of their input and exit
        while time.time() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
            time.sleep(0.1)
        assert workers and not any(Path(f"/proc/{p}").exists() for p in workers)
        settled = len(server.requests)
        time.sleep(1.0)
        assert len(server.requests) == settled  # nothing calls the server any more
        finished = (out / "results.jsonl").read_bytes().count(b"\n")
        assert 4 <= finished < 12
        again = mmrefine(*base, str(out), *settings)
        assert again.returncode == 0, again.stderr
    for name in ("results.jsonl", "steps.jsonl", "judgments.jsonl"):
        latest = _latest(out / name) if name == "results.jsonl" else records(out, name)
        expected = (_latest(tmp_path / "reference" / name) if name == "results.jsonl"
                    else records(tmp_path / "reference", name))  # fmt: skip
        assert latest == expected, name


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _latest(path: Path) -> list[str]:
    latest: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        latest[record["key"]] = _stable(record)
    return sorted(json.dumps(r, sort_keys=True) for r in latest.values())


def test_workers_started_early_for_a_run_too_small_for_them_end_once_the_data_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import scripted_config

    from mmrefine_agent.engine.executors.proc_pool import ProcessPool
    from mmrefine_agent.events import Event, RunStarted

    spawned: list[int] = []
    spawn = ProcessPool.spawn
    monkeypatch.setattr(ProcessPool, "spawn", lambda pool, n: (spawned.append(n), spawn(pool, n)))
    left: list[list[int]] = []

    def watch(event: Event) -> None:
        if isinstance(event, RunStarted):
            left.append(children())

    # no data.limit: how many items there are is known once the data is read (26 here)
    config = scripted_config(limit=1).model_copy(deep=True)
    config.data.limit = None
    config.data.filter.error_type = "Spatial Reasoning Error"
    outcome = asyncio.run(arun(config, tmp_path / "out", plugins=load_plugins(), sinks=[watch]))
    assert outcome.complete and outcome.n_items == 26
    if cores() > 1:
        assert spawned == [1]  # started with the run, before the data was read
    assert left == [[]]  # and ended before any item
    assert children() == []


@pytest.mark.parametrize(("settings", "units", "expected"), [
    (["run.processes=3"], 800, 3),
    (["run.processes=3"], 2, 2),  # never more processes than items
    (["run.processes=1"], 800, 1),
    (["run.processes=auto"], ITEMS_PER_PROCESS, 1),  # too few items to repay a process
    (["run.processes=auto", "model.backend=llamacpp"], 800, 1),  # one in-process model
    (["run.processes=auto", "run.executor=ray"], 800, 1),
])  # fmt: skip
def test_processes_for(settings: list[str], units: int, expected: int) -> None:
    config = build_config({"name": "t"}, ["judge.name=offline", *settings])
    assert processes_for(config, load_plugins(), units) == expected


def test_auto_uses_the_cores_for_enough_items() -> None:
    config = build_config({"name": "t"}, ["judge.name=offline"])
    assert processes_for(config, load_plugins(), 800) == min(cores(), 8)
