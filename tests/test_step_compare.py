"""``compare`` on two runs of a step dataset: detection, localisation and correction, paired.

Run A flags step 1 of every solution; run B is scripted to flag each incorrect solution's
labelled first wrong step and to accept the correct ones, so B localises every error A missed.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fake_openai import official_answer
from helpers import mmrefine

from mmrefine_agent import load_config, open_run, run
from mmrefine_agent.analysis.step_compare import paired_step_metrics, reference_words
from mmrefine_agent.analysis.step_outcomes import step_outcomes

ROOT = Path(__file__).resolve().parent.parent


def step_run(out: Path, script: Path, dataset: str = "prmbench") -> None:
    config = load_config(
        ROOT / "configs" / "paper_single_pass.yaml",
        [f"data.name={dataset}", "data.limit=8", "data.balanced=true", "model.backend=scripted",
         f"model.options.script={script}", "judge.name=offline"],
    )  # fmt: skip
    outcome = run(config, out)
    assert outcome.complete, outcome.errors


def two_runs(tmp_path: Path, dataset: str = "prmbench") -> tuple[Path, Path]:
    a_script = tmp_path / "a.yaml"
    a_script.write_text(yaml.safe_dump({"default": official_answer(False, step=1)}))
    a = tmp_path / "a"
    step_run(a, a_script, dataset)
    items = open_run(a).items
    right = {
        key: {"detect": official_answer(item.label == "correct", step=item.first_wrong_step or 1)}
        for key, item in items.items()
    }
    b_script = tmp_path / "b.yaml"
    b_script.write_text(yaml.safe_dump({"default": official_answer(True), "items": right}))
    b = tmp_path / "b"
    step_run(b, b_script, dataset)
    return a, b


def test_compare_pairs_the_step_metrics_of_a_step_dataset(tmp_path: Path) -> None:
    a, b = two_runs(tmp_path)
    result = mmrefine("compare", str(a), str(b), "--json")
    assert result.returncode == 0, result.stderr
    pair = json.loads(result.stdout)["paired"][0]
    step = pair["step_metrics"]
    assert step["n_shared"] == 8 and step["reference"] == "the labelled first wrong step"
    assert step["groups"]["localisation"] == [
        "erroneous_accuracy", "correct_accuracy", "localisation_f1",
    ]  # fmt: skip
    metrics = step["metrics"]
    assert metrics["erroneous_accuracy"]["b"] == 1.0 and metrics["correct_accuracy"]["b"] == 1.0
    assert metrics["correct_accuracy"]["a"] == 0.0
    assert metrics["localisation_f1"]["diff"] > 0
    assert metrics["precision"]["b"] == 1.0 and metrics["f1"]["diff"] is not None
    for name in ("erroneous_accuracy", "correct_accuracy", "localisation_f1", "f1", "recall"):
        ci = metrics[name]["ci95"]
        assert ci is None or ci[0] <= metrics[name]["diff"] <= ci[1], name

    shown = mmrefine("compare", str(a), str(b))
    assert shown.returncode == 0, shown.stderr
    assert "detection, localisation, correction" in shown.stdout
    assert "harmonic mean" in shown.stdout and "labelled first wrong step" in shown.stdout

    report = mmrefine("report", str(b), "--by", "localisation")
    assert report.returncode == 0, report.stderr
    assert "labelled first wrong step" in report.stdout
    assert "reference feedback" not in report.stdout


def test_paired_step_metrics_agree_with_each_runs_own(tmp_path: Path) -> None:
    a, b = two_runs(tmp_path, "bigbench_mistake")
    views = [open_run(a), open_run(b)]
    outcomes = [step_outcomes(v.results, v.items) for v in views]
    paired = paired_step_metrics(*outcomes, reference=reference_words(views[0].items))
    assert paired is not None
    for run_key, view in zip(("a", "b"), views, strict=True):
        own = view.scores.step_metrics
        assert own is not None
        for name, entry in paired["metrics"].items():
            assert entry[run_key] == own.overall.rates[name], (run_key, name)


def test_compare_pairs_the_step_metrics_of_mmrefine_runs(tmp_path: Path) -> None:
    a_script = tmp_path / "a.yaml"
    a_script.write_text(yaml.safe_dump({"default": official_answer(False, step=2)}))
    b_script = tmp_path / "b.yaml"
    b_script.write_text(yaml.safe_dump({"default": official_answer(True)}))
    a, b = tmp_path / "a", tmp_path / "b"
    step_run(a, a_script, "mmrefine")
    step_run(b, b_script, "mmrefine")
    result = mmrefine("compare", str(a), str(b), "--json")
    assert result.returncode == 0, result.stderr
    step = json.loads(result.stdout)["paired"][0]["step_metrics"]
    assert step["reference"] == "the step the reference feedback names"
    assert step["metrics"]["recall"]["a"] == 1.0 and step["metrics"]["recall"]["b"] == 0.0
    assert step["metrics"]["correct_accuracy"]["diff"] == 1.0
