"""Explaining the numbers: the rule behind each scenario, the legend, n on every plot."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import mmrefine, scripted_run

from mmrefine_agent.judging.scenarios import scenario_rule
from mmrefine_agent.records.models import ScoreBlock, Scores


@pytest.mark.parametrize(
    ("label", "scenario", "fields", "rule"),
    [
        ("correct", "FD", {"verdict": None}, "label correct; no verdict parsed -> FD"),
        ("correct", "VS", {"verdict": "correct"}, "label correct; verdict correct -> VS"),
        ("correct", "FD", {"verdict": "incorrect"},
         "label correct; verdict incorrect (an error flagged where there is none) -> FD"),
        ("incorrect", "RF", {"verdict": None},
         "label incorrect; no verdict parsed (error not detected) -> RF"),
        ("incorrect", "RS", {"verdict": "incorrect", "answer_matches": True},
         "label incorrect; verdict incorrect; final answer matches the gold -> RS"),
        ("incorrect", "EC",
         {"verdict": "incorrect", "answer_matches": False, "flagged_step": 2, "reference_step": 2},
         "label incorrect; verdict incorrect; answer wrong; flagged step 2 = reference step -> EC"),
        ("incorrect", "ED",
         {"verdict": "incorrect", "answer_matches": False, "flagged_step": None,
          "reference_step": 3},
         "label incorrect; verdict incorrect; answer wrong; flagged step none != reference step 3"
         " -> ED"),
        ("correct", "VS", {"solution_correctness": 1},
         "label correct; judge eval_correct = 1 -> VS"),
        ("incorrect", "ED",
         {"evaluation": "...", "error_detection": 1, "error_correction": 0,
          "solution_correctness": 0},
         "label incorrect; detection 1, correction 0, correctness 0: detected, not corrected"
         " -> ED"),
        ("incorrect", "judge_error", {},
         "label incorrect; the judge gave no usable answer -> judge_error (not scored)"),
    ],
)  # fmt: skip
def test_the_rule_behind_each_scenario(
    label: str, scenario: str, fields: dict[str, object], rule: str
) -> None:
    assert scenario_rule(label, scenario, fields) == rule


def test_run_prints_the_legend_and_trace_ends_rounds_with_their_rule(tmp_path: Path) -> None:
    run = tmp_path / "r"
    result = scripted_run(run, "--set", "data.balanced=true", limit=4)  # --quiet: headlines
    assert result.returncode == 0, result.stderr
    assert "what the numbers mean:" not in result.stdout and "RefScore" in result.stdout
    result = mmrefine("report", str(run))
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "what the numbers mean:" in out
    assert "denominators: n_incorrect 2, n_correct 2" in out
    assert "the rates are cumulative" in out and "exclusive counts" in out
    assert "ED = error detected (ED+EC+RS)" in out and "PROXY:" in out
    assert "135M" not in out  # the legend explains the model the run used, not the quickstart's
    listing = mmrefine("trace", str(run))
    key = next(line.split("│")[1].strip() for line in listing.stdout.splitlines()
               if "│ ok" in line or "│ ok " in line)  # fmt: skip
    trace = mmrefine("trace", str(run), key)
    assert trace.returncode == 0, trace.stderr
    lines = [line.strip("│ ") for line in trace.stdout.splitlines()]
    rules = [line for line in lines if line.startswith("rule: label ")]
    assert rules and all("->" in rule for rule in rules), trace.stdout


def _scores() -> Scores:
    counts = {"FD": 1, "VS": 3, "RF": 2, "ED": 1, "EC": 0, "RS": 1}
    error_types = {
        "calculation": ScoreBlock(n=3, counts={"RF": 1, "ED": 1, "RS": 1}),
        "-": ScoreBlock(n=4, counts={"VS": 3, "FD": 1}),
    }
    rounds = {"1": ScoreBlock(n=8, rates={"RefScore": -0.1, "mRecall": 0.5}),
              "2": ScoreBlock(n=7, rates={"RefScore": 0.0, "mRecall": 0.6})}  # fmt: skip
    return Scores(
        judge="offline",
        overall=ScoreBlock(n=8, counts=counts),
        by={"error_type": error_types, "round": rounds},
    )


def test_every_plot_shows_n() -> None:
    from mmrefine_agent.analysis.plots import error_types_figure, rounds_figure

    fig = error_types_figure(_scores())
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["calculation (n=3)", "(correct solutions) (n=4)"]
    segment_labels = sorted(t.get_text() for t in ax.texts if t.get_text())
    assert segment_labels == ["1", "1", "1", "1", "3"]  # RF, ED, RS of one bar; VS, FD of the other
    fig = rounds_figure(_scores())
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert notes.count("n=8") == 2 and notes.count("n=7") == 2  # RefScore and mRecall points
