"""Both cores: ``run.workers`` splits the items over worker processes.

One Python process is CPU-bound at a few hundred calls per second (litellm alone spends
several ms of CPU per call), so a large run can use every core: the parent keeps the run
directory, and each worker runs an ordinary run over its share of the items into
``RUN/workers/<k>`` (its own files, so no two processes append to the same file). When the
workers end, the parent appends their records to the run's files and adds up their usage. A
shard left behind by a killed run is merged the same way when the run is resumed, so no
finished item is lost or redone. Workers share the call cache (SQLite in WAL mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mmrefine_agent.config import RunConfig
from mmrefine_agent.records import rundir
from mmrefine_agent.types import Item

WORKERS_DIR = "workers"
EventHook = Callable[[str, dict[str, Any]], None]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the worker gets SIGKILL when its parent dies (a killed run leaves no orphans)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop_leftover_workers(base: Path) -> None:
    """Kill worker processes a killed run may have left running (checked by command line)."""
    import signal

    for pid_file in base.glob("*.pid"):
        try:
            pid = int(pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if b"mmrefine_agent.cli.main" in cmdline and str(base).encode() in cmdline:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def shard_dirs(run_path: Path) -> list[Path]:
    """The worker directories present in a run directory."""
    base = run_path / WORKERS_DIR
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def merge_shards(run_path: Path) -> list[dict[str, Any]]:
    """Append every worker's records to the run's files, then remove the worker directories.

    Returns the usage documents of the merged workers. Data-error records are left out (the
    parent records bad rows itself).
    """
    usages: list[dict[str, Any]] = []
    shards = shard_dirs(run_path)
    if not shards:
        return usages
    stop_leftover_workers(run_path / WORKERS_DIR)
    appenders = {
        name: rundir.JsonlAppender(run_path / name)
        for name in (rundir.STEPS, rundir.RESULTS, rundir.JUDGMENTS)
    }
    try:
        for shard in shards:
            for name, appender in appenders.items():
                for record in rundir.read_jsonl(shard / name):
                    if name == rundir.RESULTS and record.get("status") == "data_error":
                        continue
                    appender.write(record)
            usage_path = shard / rundir.USAGE
            if usage_path.is_file():
                with contextlib.suppress(ValueError):  # a half-written file: usage unknown
                    usages.append(json.loads(usage_path.read_text(encoding="utf-8")))
    finally:
        for appender in appenders.values():
            appender.close()
    shutil.rmtree(run_path / WORKERS_DIR, ignore_errors=True)
    return usages


def shard_config(config: RunConfig, keys: list[str], n_workers: int) -> dict[str, Any]:
    """The config a worker runs: the same run, restricted to its item keys, one process."""
    data = config.model_dump(mode="json")
    data["data"]["limit"] = None
    data["data"]["balanced"] = False
    data["data"]["filter"]["keys"] = keys
    data["run"]["workers"] = 1
    data["grid"] = {}
    if config.run.max_cost_usd is not None:  # each worker gets its share of the budget
        data["run"]["max_cost_usd"] = config.run.max_cost_usd / n_workers
    return data


def split(items: list[Item], n: int) -> list[list[Item]]:
    """Round-robin shares (neighbouring items, often the same problem, spread evenly)."""
    return [share for share in (items[k::n] for k in range(n)) if share]


async def run_workers(
    run_path: Path,
    config: RunConfig,
    todo: list[Item],
    n_workers: int,
    *,
    plugin_modules: list[str],
    on_event: EventHook,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run ``todo`` in worker processes; merge their records. Returns usages and problems."""
    base = run_path / WORKERS_DIR
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    env = dict(os.environ)
    if plugin_modules:
        env["MMREFINE_PLUGINS"] = ",".join(
            m for m in [env.get("MMREFINE_PLUGINS", ""), *plugin_modules] if m
        )
    processes: list[tuple[Path, asyncio.subprocess.Process]] = []
    for index, share in enumerate(split(todo, n_workers)):
        shard = base / str(index)
        shard.mkdir()
        config_path = base / f"{index}.yaml"
        config_path.write_text(
            yaml.safe_dump(
                shard_config(config, [i.key for i in share], n_workers), sort_keys=False
            ),
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mmrefine_agent.cli.main",
            "run", str(config_path), "--out", str(shard), "--quiet", "--restart",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )  # fmt: skip
        (base / f"{index}.pid").write_text(str(process.pid), encoding="utf-8")
        processes.append((shard, process))

    offsets = {shard: 0 for shard, _ in processes}

    async def watch() -> None:  # progress: count the result lines the workers append
        while True:
            await asyncio.sleep(0.3)
            for shard in offsets:
                offsets[shard], new = _new_lines(shard / rundir.RESULTS, offsets[shard])
                for _ in range(new):
                    on_event("item", {"status": "ok"})

    watcher = asyncio.create_task(watch())
    problems: list[str] = []
    try:
        outputs = await asyncio.gather(*(p.communicate() for _, p in processes))
    finally:
        watcher.cancel()
        for _, process in processes:
            if process.returncode is None:
                process.kill()
    for (shard, process), (_, stderr) in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            tail = (stderr or b"").decode("utf-8", "replace").strip().splitlines()[-3:]
            problems.append(f"worker {shard.name} exited with {process.returncode}: {tail}")
    return merge_shards(run_path), problems


def _new_lines(path: Path, offset: int) -> tuple[int, int]:
    """(new offset, complete lines appended since ``offset``)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return offset, 0
    end = data.rfind(b"\n") + 1
    return offset + end, data[:end].count(b"\n")
