"""``run.executor: ray`` on a real local Ray cluster (2 CPUs, started once for the module).

Every run talks to a real loopback OpenAI-compatible server (tests/fake_openai.py) through
the openai_compat backend, with the official judge; the server counts the requests it holds in
flight per model, so the limits are checked where a provider would feel them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, JudgeScript
from helpers import ROOT, mmrefine, start_run, wait_for_results

from mmrefine_agent.config import build_config
from mmrefine_agent.data.run_slice import load_run_items
from mmrefine_agent.engine.run import RunOutcome, arun
from mmrefine_agent.events import Event, ItemFinished
from mmrefine_agent.plugins_manager import load_plugins

ray = pytest.importorskip("ray")

DIES_ONCE = Path(__file__).resolve().parent / "data" / "ray_dies_once.py"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray cluster for the module (2 CPUs, no dashboard); yields its address."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield str(context.address_info["address"])
    finally:
        ray.shutdown()


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


def run(
    out: Path, settings: list[str], *, plugins: Any = None, sinks: tuple[Any, ...] = ()
) -> RunOutcome:
    config = build_config({"name": "t"}, settings)
    return asyncio.run(arun(config, out, plugins=plugins or load_plugins(), sinks=sinks))


def summary(out: Path) -> dict[str, tuple[str, str | None]]:
    """Item key -> (status, scenario), from the latest line per key."""
    latest: dict[str, tuple[str, str | None]] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        judgment = record.get("judgment") or {}
        latest[record["key"]] = (record["status"], judgment.get("scenario"))
    return latest


def overall(out: Path) -> Any:
    return json.loads((out / "scores.json").read_text())["overall"]


def test_ray_run_equals_local_run_within_the_limits(ray_cluster: str, tmp_path: Path) -> None:
    with FakeOpenAI(JudgeScript(), latency_s=0.05) as server:
        local = run(tmp_path / "local", overrides(server))
        assert local.complete
        local_calls = len(server.requests)
        server.max_in_flight.clear()

        seen: list[tuple[int, int]] = []  # (results.jsonl lines, items finished so far)
        pids: set[int] = set()

        def watch(event: Event) -> None:
            if isinstance(event, ItemFinished):
                pids.add(os.getpid())
                lines = (tmp_path / "ray" / "results.jsonl").read_text().count("\n")
                seen.append((lines, len(seen) + 1))

        limits = ("run.concurrency=3", "judge.concurrency=2", "run.executor=ray")
        outcome = run(tmp_path / "ray", overrides(server, *limits), sinks=(watch,))
        peaks = dict(server.max_in_flight)

    assert outcome.complete, outcome.errors
    assert summary(tmp_path / "ray") == summary(tmp_path / "local")
    assert overall(tmp_path / "ray") == overall(tmp_path / "local")
    # every call made again (cache off), none more; the driver counted the workers' usage
    assert len(server.requests) - local_calls == local_calls
    usage = json.loads((tmp_path / "ray" / "usage.json").read_text())
    assert usage["refine"]["calls"] + usage["judge"]["calls"] == local_calls
    steps = (tmp_path / "ray" / "steps.jsonl").read_text().splitlines()
    assert len(steps) == len((tmp_path / "local" / "steps.jsonl").read_text().splitlines())
    # the limits hold over both workers together, at the server
    assert peaks["refiner"] <= 3 and peaks["judge"] <= 2, peaks
    assert peaks["*"] <= 5
    # results.jsonl grew as items finished (the driver wrote each before telling the sinks)
    assert [lines for lines, _ in seen] == [n for _, n in seen] == list(range(1, 13))
    assert pids == {os.getpid()}  # observers run in the driver


def test_budget_is_one_budget_over_every_worker(ray_cluster: str, tmp_path: Path) -> None:
    # 10 prompt + 5 completion tokens per call at $1M/M tokens = $15 a call: $40 allows three
    # calls in all (one at a time); a budget split per worker, or one per worker, makes more
    priced = "model.options.cost_per_million={input: 1000000, output: 1000000}"
    with FakeOpenAI(JudgeScript()) as server:
        outcome = run(
            tmp_path / "out",
            overrides(server, "judge.name=offline", priced, "run.max_cost_usd=40",
                      "run.concurrency=1", "run.executor=ray", limit=8),
        )  # fmt: skip
        calls = len(server.requests)
        # a resume on Ray starts from what the run spent: the budget is one for the run
        again = run(
            tmp_path / "out",
            overrides(server, "judge.name=offline", priced, "run.max_cost_usd=40",
                      "run.concurrency=1", "run.executor=ray", limit=8),
        )  # fmt: skip
        assert len(server.requests) == calls
    assert calls == 3
    statuses = sorted(status for status, _ in summary(tmp_path / "out").values())
    assert statuses == ["budget"] * 5 + ["ok"] * 3
    assert not outcome.complete
    assert again.scores.completeness.failed == {"budget": 5}


def test_a_worker_that_dies_loses_only_its_items_in_flight(
    ray_cluster: str, tmp_path: Path
) -> None:
    with FakeOpenAI(JudgeScript(), latency_s=0.05) as server:
        reference = run(tmp_path / "reference", overrides(server))
        assert reference.complete
        config = build_config({"name": "t"}, overrides(server))
        items = load_run_items(config, load_plugins())[1].items
        key, question = items[5].key, items[5].initial_solution[:80]  # this item's own text
        assert sum(question in item.initial_solution for item in items) == 1
        marker = tmp_path / "died"
        dying = [
            *overrides(server, "run.executor=ray", "run.concurrency=2"),
            "model.backend=dies_once",
            f"model.options.die_on={json.dumps(question)}",
            f"model.options.marker={marker}",
        ]
        plugins = load_plugins([str(DIES_ONCE)])
        first = run(tmp_path / "out", dying, plugins=plugins)
        assert marker.exists()  # a worker process did die mid-item
        lost = [e for e in first.errors if ": lost: worker process died mid-item" in e]
        assert lost and any(e.startswith(f"{key}: ") for e in lost)
        assert len(lost) <= 4  # its items in flight (concurrency 2 -> at most 4 per worker)
        done = summary(tmp_path / "out")
        assert len(done) == 12 - len(lost)  # everything else finished, on the other workers
        assert not first.complete
        again = run(tmp_path / "out", dying, plugins=plugins)
    assert again.complete
    assert summary(tmp_path / "out") == summary(tmp_path / "reference")
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 12  # nothing doubled


def test_sigkill_of_the_driver_stops_its_workers_and_resume_equals_uninterrupted(
    ray_cluster: str, tmp_path: Path
) -> None:
    with FakeOpenAI(JudgeScript(), latency_s=0.25) as server:
        reference = run(tmp_path / "reference", overrides(server))
        assert reference.complete
        base = ["run", "configs/paper_single_pass.yaml", "--quiet", "--out"]
        settings = [x for o in overrides(server, "run.executor=ray", "run.concurrency=2")
                    for x in ("--set", o)]  # fmt: skip
        env_before = os.environ.get("RAY_ADDRESS")
        os.environ["RAY_ADDRESS"] = ray_cluster  # the driver joins the module's cluster
        try:
            process = start_run([*base, str(tmp_path / "killed"), *settings])
        finally:
            if env_before is None:
                os.environ.pop("RAY_ADDRESS")
            else:
                os.environ["RAY_ADDRESS"] = env_before
        assert wait_for_results(tmp_path / "killed", "results.jsonl", 3, timeout_s=180) >= 3
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        time.sleep(2.0)  # Ray ends the job's workers; then nothing calls the server any more
        settled = len(server.requests)
        time.sleep(1.5)
        assert len(server.requests) == settled
        finished = (tmp_path / "killed" / "results.jsonl").read_bytes().count(b"\n")
        assert 3 <= finished < 12
        again = mmrefine(*base, str(tmp_path / "killed"), *settings,
                         env={"RAY_ADDRESS": ray_cluster})  # fmt: skip
        assert again.returncode == 0, again.stderr
    assert summary(tmp_path / "killed") == summary(tmp_path / "reference")
    assert overall(tmp_path / "killed") == overall(tmp_path / "reference")
    usage = json.loads((tmp_path / "killed" / "usage.json").read_text())
    assert usage["sessions"][-1]["refine"]["calls"] <= 12 - finished + 2  # finished not redone


def test_a_sweep_of_two_cells_on_ray(ray_cluster: str, tmp_path: Path) -> None:
    with FakeOpenAI(JudgeScript(), latency_s=0.05) as server:
        config = {
            "name": "sw",
            "grid": {"model.params.temperature": [0, 0.5]},
        }
        path = tmp_path / "sweep.yaml"
        path.write_text(json.dumps(config))
        settings = [x for o in overrides(server, "run.concurrency=2", "judge.concurrency=2",
                                         limit=6) for x in ("--set", o)]  # fmt: skip
        local = mmrefine("sweep", str(path), "--quiet", "--out", str(tmp_path / "local"),
                         *settings, cwd=ROOT)  # fmt: skip
        assert local.returncode == 0, local.stderr
        server.max_in_flight.clear()
        on_ray = [*settings, "--set", "run.executor=ray", "--set", "run.cache=true"]
        env = {"RAY_ADDRESS": ray_cluster}
        first = mmrefine("sweep", str(path), "--quiet", "--out", str(tmp_path / "ray"), *on_ray,
                         env=env)  # fmt: skip
        assert first.returncode == 0, first.stderr
        peaks = dict(server.max_in_flight)
        calls = len(server.requests)
        again = mmrefine("sweep", str(path), "--quiet", "--out", str(tmp_path / "ray"), *on_ray,
                         env=env)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert len(server.requests) == calls  # resumed: both cells were finished
    cells = json.loads((tmp_path / "ray" / "sweep.json").read_text())["cells"]
    assert [c["cell"] for c in cells] == ["temperature=0", "temperature=0.5"]
    for cell in ("temperature=0", "temperature=0.5"):
        assert summary(tmp_path / "ray" / cell) == summary(tmp_path / "local" / cell)
        assert overall(tmp_path / "ray" / cell) == overall(tmp_path / "local" / cell)
    # the cells ran at once, yet the limits held over the whole sweep
    assert peaks["refiner"] <= 2 and peaks["judge"] <= 2, peaks


def test_ray_is_not_imported_by_a_local_run_or_the_cli() -> None:
    code = (
        "import sys, mmrefine_agent.cli.main, mmrefine_agent.engine.run, "
        "mmrefine_agent.engine.executors; print('ray' in sys.modules)"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(("settings", "expected"), [
    (["model.backend=llamacpp"], 1),  # an in-process model: one copy per machine
    (["model.backend=llamacpp", "run.ray_workers_per_node=2"], 2),  # unless asked for more
    (["model.backend=openai_compat"], 2),  # otherwise one worker per core
])  # fmt: skip
def test_workers_per_machine(ray_cluster: str, settings: list[str], expected: int) -> None:
    from mmrefine_agent.engine.executors.ray_pool import RayPool

    config = build_config({"name": "t"}, ["run.executor=ray", "judge.name=offline", *settings])
    pool = RayPool()
    try:
        pool.start(config, load_plugins())
        assert len(pool.workers) == expected
    finally:
        pool.close()
    assert ray.is_initialized()  # the module's Ray: a pool closes only what it started


def test_a_worker_imports_every_built_in_plugin_without_a_path_change(
    ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    monkeypatch.chdir(ROOT)  # the driver sits in the checkout, as `mmrefine run` usually does

    def in_worker() -> dict[str, Any]:
        # defined here, so Ray ships it by value: the worker imports only what it names
        import importlib
        import importlib.metadata
        import sys

        roots = ("mmrefine_agent", "mmrefine_plugins", "mmrefine_strategies")

        def packages() -> dict[str, tuple[list[str], str]]:
            return {
                name: (list(module.__path__), str(module.__file__))
                for name, module in list(sys.modules.items())
                if name.split(".")[0] in roots and getattr(module, "__path__", None) is not None
            }

        before = packages()
        points = importlib.metadata.entry_points(group="mmrefine_agent")
        modules = {ep.name: importlib.import_module(ep.value).__name__ for ep in points}
        alias = importlib.import_module("mmrefine_agent.strategies.single_pass")
        own = importlib.import_module("mmrefine_strategies.single_pass")
        from mmrefine_agent import load_plugins

        return {
            "pid": os.getpid(),
            "before": before,
            "after": packages(),
            "modules": modules,
            "alias_is_the_strategy": alias.SinglePass is own.SinglePass,
            "strategies": load_plugins().strategies.names(),
        }

    report = ray.get(ray.remote(in_worker).remote(), timeout=120)
    assert report["pid"] != os.getpid()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert report["modules"] == declared["mmrefine_agent"]  # every built-in, by its own name
    assert report["alias_is_the_strategy"]
    assert {"single_pass", "debate", "reflexion"} <= set(report["strategies"])
    for name, (path, file) in report["after"].items():
        assert path == [os.path.dirname(file)], (name, path)  # one directory: the package's own
        assert report["before"].get(name, (path, file)) == (path, file), name
