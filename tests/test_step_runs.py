"""One scripted `mmrefine run` per step dataset: scores.json carries the step metrics, and
`mmrefine report` shows them (by category, and across rounds for a multi-round run)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from helpers import SCRIPT, mmrefine, scripted_run

from mmrefine_agent.config import build_config
from mmrefine_agent.engine.run import arun


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("prmbench", ()),
        ("mrben", ("--set", "data.balanced=true")),
        ("bigbench_mistake", ("--set", "strategy.name=multi_round",
                              "--set", "strategy.max_rounds=2")),
    ],
)  # fmt: skip
def test_run_and_report_on_a_step_dataset(name: str, extra: tuple[str, ...], tmp_path: Path):
    out = tmp_path / name
    done = scripted_run(out, "--set", f"data.name={name}", *extra, limit=4)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "step metrics - dataset" in done.stdout
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(results) == 4 and {r["dataset"] for r in results} == {name}
    assert all(r["key"].startswith(f"{name}:") and r["category"] for r in results)
    scores = json.loads((out / "scores.json").read_text())
    step = scores["step_metrics"]
    assert step["dataset"] == name and step["overall"]["n"] == 4
    assert step["overall"]["rates"]["detection_accuracy"] is not None
    assert set(step["by_category"]) == {r["category"] for r in results}
    report = mmrefine("report", str(out), "--by", "category", "--by", "round")
    assert report.returncode == 0, report.stderr
    assert "step metrics by category" in report.stdout and "harmonic mean" in report.stdout
    for category in step["by_category"]:
        assert category in report.stdout
    if name == "bigbench_mistake":  # gold answers, two rounds: answers across rounds
        rounds = scores["round_correction"]
        assert rounds["rounds"] == 2 and rounds["n"] == 4
        assert set(rounds["rates"]) >= {"accuracy_t1", "accuracy_last", "delta"}
        assert "answers across rounds" in report.stdout and "incorrect -> correct" in report.stdout
    else:
        assert scores["round_correction"] is None


def test_a_bad_record_is_a_data_error_item(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "data" / "step_benchmarks" / "bigbench_mistake"
    folder.mkdir(parents=True)
    good = {"input": "2 + 2 =", "steps": ["2 + 2 = 4.", "So the answer is 4"],
            "answer": "4", "target": "4", "mistake_index": None}  # fmt: skip
    bad = {**good, "mistake_index": 7}
    (folder / "toy.jsonl").write_text(f"{json.dumps(good)}\n{json.dumps(bad)}\n")
    (tmp_path / "data" / "mmrefine_official_prompts.json").symlink_to(
        data_dir / "mmrefine_official_prompts.json"
    )
    config = build_config(
        {},
        [f"data.dir={tmp_path / 'data'}", "data.name=bigbench_mistake", "model.backend=scripted",
         f"model.options.script={SCRIPT}", "judge.name=offline"],
    )  # fmt: skip
    outcome = asyncio.run(arun(config, tmp_path / "run"))
    assert not outcome.complete and outcome.n_errors == 1
    lines = [json.loads(x) for x in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    failed = next(r for r in lines if r["status"] == "data_error")
    assert failed["key"] == "bigbench_mistake:toy:2" and failed["field"] == "mistake_index"
    assert "toy.jsonl: line 2" in failed["error"] and "outside steps 1..2" in failed["error"]


def test_data_info_and_plugins_show_the_datasets() -> None:
    info = mmrefine("data", "info", "--set", "data.name=bigbench_mistake")
    assert info.returncode == 0, info.stderr
    for text in ("2186 items", "dyck_languages", "986", "PaLM 2-L", "1708 of 1708 incorrect"):
        assert text in info.stdout, text
    listed = mmrefine("plugins")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "dataset" in line]
    assert {
        n
        for n in ("mmrefine", "prmbench", "bigbench_mistake", "mrben")
        if any(n in row for row in rows)
    } == {"mmrefine", "prmbench", "bigbench_mistake", "mrben"}
    listing = json.loads(mmrefine("plugins", "--json").stdout)["plugins"]
    assert all(e["origin"].startswith("mmrefine-agent") for e in listing if e["kind"] == "dataset")
