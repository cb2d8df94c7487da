"""A non-editable install loads every built-in plugin, with no package ``__path__`` changed.

The project is installed once per session with ``pip install --target`` (no network: no build
isolation, setuptools from the environment). Each check runs in a fresh interpreter started
with ``-S``, so the only copies of the packages it can see are the installed one and, when it
runs from the checkout root, the checkout on ``sys.path`` (the case that once needed a
``__path__`` extension to find the plugins).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

FOLDERS = {"mmrefine_agent": "mmrefine_agent", "mmrefine_plugins": "plugins",
           "mmrefine_strategies": "strategies"}  # fmt: skip
ENTRY_POINTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
    "mmrefine_agent"
]

# Run in the fresh interpreter: load the plugins as `mmrefine run` does, import the v2 alias,
# and report where every module came from and every package's __path__.
PROBE = """
import importlib, importlib.metadata, json, os, sys
ROOTS = ("mmrefine_agent", "mmrefine_plugins", "mmrefine_strategies")

def paths():
    return {name: list(module.__path__) for name, module in list(sys.modules.items())
            if name.split(".")[0] in ROOTS and getattr(module, "__path__", None) is not None}

import mmrefine_agent
before = paths()
from mmrefine_agent import load_plugins
plugins = load_plugins()
alias = importlib.import_module("mmrefine_agent.strategies.single_pass")
own = importlib.import_module("mmrefine_strategies.single_pass")
print(json.dumps({
    "before": before,
    "after": paths(),
    "files": {name: module.__file__ for name, module in list(sys.modules.items())
              if name.split(".")[0] in ROOTS},
    "entry_points": sorted(e.name for e in importlib.metadata.entry_points(group="mmrefine_agent")),
    "loaded": sorted(name for name, _ in plugins.pm.list_name_plugin()),
    "registered": {"backends": plugins.backends.names(), "strategies": plugins.strategies.names(),
                   "judges": plugins.judges.names(), "datasets": plugins.datasets.names()},
    "alias_is_the_strategy": alias.SinglePass is own.SinglePass,
}))
"""


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project installed (not editable) into a directory of its own; built once."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed (the 'dev' extra has it): cannot build offline")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in FOLDERS.values():
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    target = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    return target


def fresh_python(code: str, installed: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -S -c code``: the install and the environment's libraries, nothing else."""
    libraries = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMREFINE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(installed), *libraries])
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def probe(installed: Path, cwd: Path) -> dict[str, Any]:
    result = fresh_python(PROBE, installed, cwd)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def check_probe(report: dict[str, Any]) -> None:
    """Every built-in loaded, the alias working, every __path__ one directory, none changed."""
    assert report["entry_points"] == sorted(ENTRY_POINTS)
    assert set(ENTRY_POINTS) <= set(report["loaded"])
    registered = report["registered"]
    assert {"single_pass", "self_critique", "multi_round", "reflexion"} <= set(
        registered["strategies"]
    )
    assert {"litellm", "openai_compat", "llamacpp", "scripted"} <= set(registered["backends"])
    assert {"mmrefine_official", "offline"} <= set(registered["judges"])
    assert {"mmrefine", "prmbench", "bigbench_mistake", "mrben"} <= set(registered["datasets"])
    assert report["alias_is_the_strategy"]
    for name, path in report["after"].items():
        assert path == [os.path.dirname(report["files"][name])], (name, path)
        assert report["before"].get(name, path) == path, name


def test_the_install_holds_every_module_and_asset(installed: Path) -> None:
    for name, folder in FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT / folder)
            shipped = path.suffix == ".py" or "report_assets" in relative.parts
            if path.is_file() and shipped and "__pycache__" not in relative.parts:
                assert (installed / name / relative).is_file(), f"{folder}/{relative}"


def test_built_in_plugins_load_from_the_install_elsewhere(installed: Path, tmp_path: Path) -> None:
    report = probe(installed, tmp_path)
    check_probe(report)
    for name, file in report["files"].items():
        assert Path(file).is_relative_to(installed), (name, file)


def test_built_in_plugins_load_from_the_install_in_the_checkout(installed: Path) -> None:
    report = probe(installed, ROOT)  # the checkout's mmrefine_agent/ comes first on sys.path
    check_probe(report)
    for name, file in report["files"].items():
        origin = Path(file)
        if name.startswith("mmrefine_agent"):
            assert origin.is_relative_to(ROOT / "mmrefine_agent"), (name, file)
        else:  # the checkout has plugins/ and strategies/, never shadowing the import names
            assert origin.is_relative_to(installed), (name, file)


def test_mmrefine_plugins_lists_every_built_in_from_the_install(
    installed: Path, tmp_path: Path
) -> None:
    code = "import sys; from mmrefine_agent.cli.main import main; sys.exit(main(['plugins']))"
    result = fresh_python(code, installed, tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("single_pass", "reflexion", "openai_compat", "scripted", "offline", "mrben"):
        assert name in result.stdout, name
    assert "mmrefine-agent 0.2.0" in result.stdout
