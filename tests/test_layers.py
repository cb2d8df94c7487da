"""The import contracts of pyproject.toml ``[tool.importlinter]``, checked on the checkout.

``lint-imports`` runs in a subprocess on a staging directory whose three import names point at
the checkout's folders (``mmrefine_plugins`` -> ``plugins/``, ...), so the files checked are
the checkout's whatever the install (editable here, ``pip install .`` in CI). The second test
breaks every contract on purpose, in a copy, and sees each one reported broken.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import ROOT

FOLDERS = {"mmrefine_agent": "mmrefine_agent", "mmrefine_plugins": "plugins",
           "mmrefine_strategies": "strategies"}  # fmt: skip

CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(staging: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts, on the packages under ``staging``."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (it is in the 'dev' extra)")
    return subprocess.run(
        [exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=staging,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(staging), "COLUMNS": "200"},
    )


def verdicts(output: str) -> dict[str, str]:
    """Contract name -> KEPT or BROKEN, from the report's summary lines."""
    found = {}
    for contract in CONTRACTS["contracts"]:
        match = re.search(re.escape(contract["name"]) + r"\s*(KEPT|BROKEN)", output)
        found[contract["id"]] = match.group(1) if match else "missing"
    return found


def test_every_contract_is_kept_by_the_checkout(tmp_path: Path) -> None:
    for name, folder in FOLDERS.items():
        (tmp_path / name).symlink_to(ROOT / folder, target_is_directory=True)
    result = lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(verdicts(result.stdout).values()) == {"KEPT"}, result.stdout


# contract id -> (file, by import name, and an import there that breaks that contract's rule)
BREAKS = {
    "records": ("mmrefine_agent/records/steps.py", "from mmrefine_agent.types import Item"),
    "errors": ("mmrefine_agent/errors.py", "import mmrefine_agent.redact"),
    "client-protocol": ("mmrefine_agent/graph/nodes.py", "import mmrefine_agent.engine.client"),
    "readers": ("mmrefine_agent/analysis/metrics.py", "import mmrefine_agent.engine.sweep"),
    "cli": ("mmrefine_agent/cli/render.py", "from mmrefine_agent.engine.run import arun"),
    "core-plugins": ("mmrefine_agent/data/select.py", "import mmrefine_plugins.datasets.mmrefine"),
    "plugins-public": ("mmrefine_strategies/common.py", "from mmrefine_agent.types import Item"),
}


def test_each_contract_fails_on_the_import_it_forbids(tmp_path: Path) -> None:
    assert set(BREAKS) == {c["id"] for c in CONTRACTS["contracts"]}  # one break per contract
    for name, folder in FOLDERS.items():
        shutil.copytree(ROOT / folder, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "report_assets"))  # fmt: skip
    for path, line in BREAKS.values():
        copied = tmp_path / path
        copied.write_text(copied.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert verdicts(result.stdout) == dict.fromkeys(BREAKS, "BROKEN"), result.stdout
    for path, line in BREAKS.values():
        importer = path.removesuffix(".py").replace("/", ".")
        assert f"{importer} -> {line.split()[1]}" in result.stdout, (line, result.stdout)


def test_every_exception_to_a_contract_says_why() -> None:
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    for contract in CONTRACTS["contracts"]:
        for ignored in contract.get("ignore_imports", []):
            at = next(i for i, text in enumerate(lines) if f'"{ignored}"' in text)
            assert lines[at - 1].strip().startswith("#"), f"no comment says why: {ignored}"
