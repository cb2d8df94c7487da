"""A researcher's own plugins: a run remembers them, and every later command loads them again.

A dataset plugin (a JSONL benchmark with images and labelled first wrong steps, read from
``data.path``) written with public names only, given once when the run is made.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers import SCRIPT, mmrefine

from mmrefine_agent import ConfigError, DataError, PluginError, load_config, open_run, run

DATASET = '''
"""shapebench: a tiny step-labelled benchmark with images (a JSONL file)."""
from pathlib import Path
from typing import ClassVar

from mmrefine_agent import (
    Image, Item, RawRecord, RegisterDataset, StepDataset, hookimpl, number_steps, read_jsonl,
    step_in_range, text_field, text_list,
)


class ShapeBench(StepDataset):
    name: ClassVar[str] = "shapebench"
    description: ClassVar[str] = "shapes, with the first wrong step labelled"
    folder: ClassVar[str] = "shapebench"

    def records(self, path):
        for line, data in read_jsonl(path):
            yield RawRecord(file=path, row=line, where=f"line {line}", key=f"shape:{line}",
                            data=data, facts={"label": data.get("label"), "problem": str(line)})

    def build(self, record):
        data = record.data
        steps = tuple(text_list(data, "steps"))
        first = data.get("first_wrong_step")
        image = Image.from_file(Path(record.file).parent / data["image"])
        return Item(
            key=record.key, id=f"shape:{record.row}", question=text_field(data, "question"),
            options=(), image=image, answer=text_field(data, "answer"),
            initial_solution=number_steps(steps),
            label="correct" if first is None else "incorrect", reference_feedback=None,
            error_type=None, source="hand-made", dataset=self.name, steps=steps,
            first_wrong_step=None if first is None else step_in_range(first, len(steps), "first"),
        )


@hookimpl
def mmrefine_register_datasets(register: RegisterDataset) -> None:
    register("shapebench", ShapeBench)
'''


def make_shapebench(folder: Path) -> tuple[Path, Path]:
    from PIL import Image as PILImage

    folder.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", (32, 24), "red").save(folder / "square.png")
    rows = [
        {"question": "Area of the square?", "steps": ["side 2", "area 2*2=5"], "answer": "4",
         "first_wrong_step": 2, "label": "incorrect", "image": "square.png"},
        {"question": "Sides of the square?", "steps": ["a square has 4 sides"], "answer": "4",
         "first_wrong_step": None, "label": "correct", "image": "square.png"},
    ]  # fmt: skip
    data = folder / "shapes.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    plugin = folder / "shapebench_plugin.py"
    plugin.write_text(textwrap.dedent(DATASET))
    return plugin, data


def shape_config(data: Path, *extra: str) -> object:
    return load_config(
        "configs/quickstart.yaml",
        [
            "data.name=shapebench", f"data.path={data}", "data.limit=2",
            "model.backend=scripted", f"model.options.script={SCRIPT}", "judge.name=offline",
            *extra,
        ],
    )  # fmt: skip


def test_a_run_remembers_its_dataset_plugin(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    plugin, data = make_shapebench(tmp_path / "shapes")
    out = tmp_path / "run"
    outcome = run(shape_config(data), out, plugins=[plugin])
    assert outcome.n_done == 2, outcome.errors
    fingerprint = json.loads((out / "fingerprint.json").read_text())
    assert [m["spec"] for m in fingerprint["modules"]] == [str(plugin)]
    assert fingerprint["modules"][0]["source_sha256"]

    view = open_run(out)  # no plugin named: the run's own are loaded again
    assert "shapebench" in view.plugins.datasets.names()
    assert sorted(view.items) == ["shape:1", "shape:2"]
    assert view.items["shape:1"].image is not None

    for command in (["trace", str(out), "shape:1"], ["report", str(out)],
                    ["report", str(out), "--html", str(tmp_path / "r.html")]):  # fmt: skip
        result = mmrefine(*command)
        assert result.returncode in (0, 1), (command, result.stdout + result.stderr)
        assert "unknown dataset" not in result.stdout + result.stderr

    plugin.write_text(plugin.read_text() + "\n# changed\n")
    with pytest.raises(PluginError, match=r"shapebench_plugin\.py"):
        open_run(out).plugins  # noqa: B018
    result = mmrefine("trace", str(out), "shape:1")
    assert result.returncode == 2 and "shapebench_plugin.py" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_load_config_checks_names_against_the_plugins(tmp_path: Path) -> None:
    plugin, _data = make_shapebench(tmp_path / "shapes")
    root = Path(__file__).resolve().parent.parent
    config = load_config(root / "configs" / "quickstart.yaml", ["data.name=shapebench"],
                         plugins=[plugin])  # fmt: skip
    assert config.data.name == "shapebench"
    with pytest.raises(ConfigError, match="did you mean 'single_pass'"):
        load_config(str(root / "configs" / "quickstart.yaml"), ["strategy.name=single_pas"],
                    plugins=[])  # fmt: skip


def test_missing_official_prompts_name_the_file_and_the_places(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    plugin, data = make_shapebench(tmp_path / "shapes")
    empty = tmp_path / "empty-data"
    empty.mkdir()
    config = load_config(
        Path(__file__).resolve().parent.parent / "configs" / "quickstart.yaml",
        ["data.name=shapebench", f"data.path={data}", f"data.dir={empty}",
         "model.backend=scripted", f"model.options.script={SCRIPT}", "judge.name=offline",
         "strategy.name=single_pass"],
    )  # fmt: skip
    out = tmp_path / "run"
    with pytest.raises(DataError) as caught:
        run(config, out, plugins=[plugin])
    message = str(caught.value)
    assert "mmrefine_official_prompts.json" in message and "single_pass" in message
    assert str(empty) in message
    assert not out.exists()  # refused before anything was written
