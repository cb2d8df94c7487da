"""Plugins given once at ``run``: every later command (and a sweep run again) loads them.

A dataset plugin and a strategy plugin are named with ``--plugin`` when the runs are made;
``trace``, ``report --html``, ``compare`` and ``judge`` then work on those runs without
naming them, ``--plugin`` is accepted in any position, and ``refine_item`` takes plugin paths.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from helpers import SCRIPT, mmrefine
from test_run_plugins import make_shapebench

from mmrefine_agent import load_config, refine_item

STRATEGY = '''
"""careful: the paper protocol under another name (a strategy plugin of the researcher's)."""
from typing import ClassVar

from mmrefine_agent import RegisterStrategy, SinglePass, hookimpl


class Careful(SinglePass):
    name: ClassVar[str] = "careful"
    description: ClassVar[str] = "the single pass, as a plugin"


@hookimpl
def mmrefine_register_strategies(register: RegisterStrategy) -> None:
    register("careful", Careful)
'''


def make_plugins(folder: Path) -> tuple[Path, Path, Path]:
    dataset, data = make_shapebench(folder)
    strategy = folder / "careful_plugin.py"
    strategy.write_text(textwrap.dedent(STRATEGY))
    return dataset, strategy, data


def run_args(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run", "configs/quickstart.yaml", "--out", str(out), "--quiet",
        "--set", "data.name=shapebench", "--set", f"data.path={data}",
        "--set", "model.backend=scripted", "--set", f"model.options.script={SCRIPT}",
        "--set", "judge.name=offline", "--set", "strategy.name=careful", *extra,
    ]  # fmt: skip


def test_commands_on_a_run_load_its_plugins(tmp_path: Path) -> None:
    dataset, strategy, data = make_plugins(tmp_path / "shapes")
    a, b = tmp_path / "a", tmp_path / "b"
    made = mmrefine("--plugin", str(dataset), *run_args(data, a, "--plugin", str(strategy)))
    assert made.returncode == 0, made.stdout + made.stderr
    # --plugin between the options, with the path given as it was
    made = mmrefine(*run_args(data, b)[:3], f"--plugin={dataset}", *run_args(data, b)[3:],
                    "--plugin", str(strategy), "--set", "model.params.seed=1")  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    recorded = json.loads((a / "fingerprint.json").read_text())["modules"]
    assert [m["spec"] for m in recorded] == [str(dataset), str(strategy)]

    html = tmp_path / "report.html"
    for command in (
        ["trace", str(a), "shape:1"],
        ["report", str(a), "--html", str(html), "--by", "localisation"],
        ["compare", str(a), str(b)],
        ["judge", str(a), "--all", "--set", "judge.name=offline", "--quiet"],
    ):
        result = mmrefine(*command)
        text = result.stdout + result.stderr
        assert result.returncode == 0, (command, text)
        assert "unknown" not in text and "Traceback" not in text, (command, text)
    assert html.is_file()

    # --plugin in any position, even between a command's positional arguments
    result = mmrefine("compare", str(a), "--plugin", str(strategy), str(b), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["baseline"] == "a"
    assert mmrefine("config", "--plugin", str(strategy)).returncode == 0

    strategy.write_text(strategy.read_text() + "\n# changed\n")
    refused = mmrefine("compare", str(a), str(b))
    assert refused.returncode == 2
    assert "careful_plugin.py" in refused.stderr and "changed" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_sweep_run_again_loads_its_cells_plugins(tmp_path: Path) -> None:
    dataset, strategy, data = make_plugins(tmp_path / "shapes")
    config = tmp_path / "sweep.yaml"
    config.write_text(
        textwrap.dedent(f"""
        name: shapes
        data: {{name: shapebench, path: {data}}}
        model: {{backend: scripted, name: scripted, options: {{script: {SCRIPT}}}}}
        strategy: {{name: careful}}
        judge: {{name: offline}}
        grid: {{strategy.max_rounds: [1, 2]}}
        """)
    )
    out = tmp_path / "sweep"
    args = ["sweep", str(config), "--out", str(out), "--quiet"]
    first = mmrefine(*args, "--plugin", str(dataset), "--plugin", str(strategy))
    assert first.returncode == 0, first.stdout + first.stderr
    again = mmrefine(*args)  # resumed: the cells' plugins are loaded from their fingerprints
    assert again.returncode == 0, again.stdout + again.stderr
    dataset.write_text(dataset.read_text() + "\n# changed\n")
    refused = mmrefine(*args)
    assert refused.returncode == 2 and "shapebench_plugin.py" in refused.stderr


def test_refine_item_takes_plugin_paths(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    dataset, strategy, data = make_plugins(tmp_path / "shapes")
    config = load_config(
        "configs/quickstart.yaml",
        ["data.name=shapebench", f"data.path={data}", "model.backend=scripted",
         f"model.options.script={SCRIPT}", "judge.name=offline", "strategy.name=careful"],
        plugins=[dataset, str(strategy)],
    )  # fmt: skip
    one = refine_item("shape:1", config, plugins=[dataset, str(strategy)])
    assert one.result.status == "ok"
    assert one.steps and one.steps[0].node == "detect"
