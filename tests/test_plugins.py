"""Plugins: the hook surface, registries, and a real out-of-tree package with an entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SCRIPT, mmrefine, scripted_run

from mmrefine_agent import hookspecs
from mmrefine_agent.errors import PluginError
from mmrefine_agent.plugins_manager import load_plugins

PLUGIN_PKG = Path(__file__).resolve().parent / "plugin_pkg"


def test_every_hook_is_documented() -> None:
    hooks = [name for name in dir(hookspecs) if name.startswith("mmrefine_")]
    assert len(hooks) >= 6
    for name in hooks:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Args:" in doc and "Returns:" in doc, name


def test_duplicate_registration_is_an_error() -> None:
    plugins = load_plugins()
    with pytest.raises(PluginError, match="registered twice"):
        plugins.strategies.add("single_pass", object, "x", "y")


def test_unknown_name_suggests() -> None:
    with pytest.raises(PluginError, match="did you mean 'multi_round'"):
        load_plugins().strategies.get("multi_rounds")


def test_disable_env_blocks_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMREFINE_DISABLE_PLUGINS", "self_critique")
    assert "self_critique" not in load_plugins().strategies.names()


def test_observe_step_hook_sees_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "step_counter.py"
    module.write_text(
        "from mmrefine_agent.hookspecs import hookimpl\nSEEN = []\nJUDGED = []\n"
        "@hookimpl\ndef mmrefine_observe_step(step):\n    SEEN.append((step.item_key, step.node))\n"
        "@hookimpl\ndef mmrefine_observe_judgment(record):\n    JUDGED.append(record['item_key'])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import asyncio

    from mmrefine_agent.config import build_config
    from mmrefine_agent.engine.run import arun

    plugins = load_plugins(["step_counter"])
    config = build_config(
        {},
        [
            "data.limit=3",
            "model.backend=scripted",
            f"model.options.script={SCRIPT}",
            "judge.name=offline",
        ],
    )
    asyncio.run(arun(config, tmp_path / "run", plugins=plugins))
    import step_counter  # type: ignore[import-not-found]

    steps = (tmp_path / "run" / "steps.jsonl").read_text().splitlines()
    assert len(step_counter.SEEN) == len(steps) == 12
    assert len(step_counter.JUDGED) == 3


def test_out_of_tree_plugin_package_is_a_peer_of_the_builtins(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(PLUGIN_PKG, source)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    paths = [str(target), *filter(None, [os.environ.get("PYTHONPATH")])]  # no "" (= cwd)
    env = {"PYTHONPATH": os.pathsep.join(paths)}
    listed = mmrefine("plugins", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "cautious" in listed.stdout and "mmrefine-cautious 0.0.1" in listed.stdout
    out = tmp_path / "run"
    result = scripted_run(out, "--set", "strategy.name=cautious", limit=2, env=env)
    assert result.returncode == 0, result.stderr
    steps = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]
    detect = next(s for s in steps if s["node"] == "detect")
    assert detect["strategy"] == "cautious"
    assert detect["prompt"][-1]["text"].startswith("CAUTIOUS MODE.")
