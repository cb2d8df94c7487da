"""The ``wandb`` observer in offline mode, through the command line (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import mmrefine, scripted_run
from test_research import SWEEP_ARGS

pytest.importorskip("wandb")
from wandb_files import offline_runs

WANDB = ("--set", "observers.wandb.mode=offline", "--set", "observers.wandb.project=P")


@pytest.fixture
def wandb_env(tmp_path: Path) -> dict[str, str]:
    """W&B's own directories in the test's folder; offline; never a key."""
    home = tmp_path / "wandb_home"
    return {
        "WANDB_DATA_DIR": str(home / "data"),
        "WANDB_CACHE_DIR": str(home / "cache"),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_API_KEY": "",
        "WANDB_MODE": "offline",
    }


def test_offline_run_holds_config_figures_items_and_files(
    tmp_path: Path, wandb_env: dict[str, str]
) -> None:
    out = tmp_path / "run"
    extra = ("--set", "data.balanced=true", "--set", "model.api_key_env=MY_KEY")
    result = scripted_run(out, *WANDB, *extra, limit=6, env={**wandb_env, "MY_KEY": "sk-abc"})
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
    (run,) = offline_runs(out)
    assert f"wandb: offline run {run.run_id} in " in result.stderr
    assert f"wandb sync {out}/wandb/offline-run-" in result.stderr
    assert run.project == "P" and run.run_id
    # the resolved config, without the observers section, never a credential
    assert run.config["strategy"]["name"] == "single_pass"
    assert run.config["model"]["backend"] == "scripted"
    assert run.config["data"]["limit"] == 6
    assert "observers" not in run.config and run.config["cell"] == {}
    assert "sk-abc" not in json.dumps(run.config)
    # headline figures with intervals, the six rates, usage
    summary = run.summary
    for rate in ("RF", "ED", "EC", "RS", "VS", "FD", "RefScore", "mRecall"):
        assert f"scores/{rate}" in summary, sorted(summary)
    assert summary["scores/RefScore_ci95_low"] <= summary["scores/RefScore"]
    assert summary["scores/RefScore"] <= summary["scores/RefScore_ci95_high"]
    scores = json.loads((out / "scores.json").read_text())
    assert summary["scores/RefScore"] == pytest.approx(scores["overall"]["rates"]["RefScore"])
    assert summary["scores/n_items"] == 6 and summary["scores/is_proxy"] is True
    assert any(key.startswith("step_metrics/") for key in summary)
    assert summary["progress/items_done"] == 6
    # the per-round figures, against the round axis
    rounds = [row for row in run.history if "round" in row]
    assert rounds and rounds[0]["round"] == 1 and "per_round/RefScore" in rounds[0]
    # the items table
    table = run.table("items")
    assert table["columns"][:7] == [
        "key", "error_type", "label", "scenario_by_round", "scenario", "tools", "failure_kind",
    ]  # fmt: skip
    rows = {row[0]: dict(zip(table["columns"], row, strict=True)) for row in table["data"]}
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert set(rows) == {r["key"] for r in results}
    for record in results:
        row = rows[record["key"]]
        assert row["label"] == record["label"] and row["tools"] == []
        assert row["scenario_by_round"] == [record["judgment"]["scenario"]]
        assert row["failure_kind"] is None
    # report.html, scores.json and submission.json as an artifact
    files = sorted(run.artifacts["mmrefine-run"])
    assert files == ["report.html", "scores.json", "submission.json"]


def test_a_resumed_run_continues_the_same_wandb_run_and_a_restart_does_not(
    tmp_path: Path, wandb_env: dict[str, str]
) -> None:
    out = tmp_path / "run"
    assert scripted_run(out, *WANDB, limit=2, env=wandb_env).returncode == 0
    again = scripted_run(out, *WANDB, limit=2, env=wandb_env)
    assert again.returncode == 0, again.stderr
    first, second = offline_runs(out)
    assert first.run_id == second.run_id and first.path != second.path
    assert second.resume
    kept = json.loads((out / "wandb" / "mmrefine_run.json").read_text())
    assert kept == {"version": 1, "id": first.run_id}
    # starting over starts a new W&B run
    assert scripted_run(out, *WANDB, "--restart", limit=2, env=wandb_env).returncode == 0
    third = offline_runs(out)[-1]
    assert third.run_id != first.run_id


def test_sweep_cells_share_a_group_with_their_values_in_the_config(
    tmp_path: Path, wandb_env: dict[str, str]
) -> None:
    out = tmp_path / "sweep"
    result = mmrefine(
        "sweep", "configs/sweep_rounds.yaml", "--out", str(out), *SWEEP_ARGS, *WANDB,
        "--limit", "2", env=wandb_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cells = {}
    for cell in ("max_rounds=1", "max_rounds=3"):
        (run,) = offline_runs(out / cell)
        cells[cell] = run
        assert run.group == "sweep_rounds"
    assert cells["max_rounds=1"].config["cell"] == {"strategy.max_rounds": 1}
    assert cells["max_rounds=3"].config["cell"] == {"strategy.max_rounds": 3}
    assert cells["max_rounds=1"].run_id != cells["max_rounds=3"].run_id
    series = [row["round"] for row in cells["max_rounds=3"].history if "round" in row]
    assert series == [1, 2, 3]


def test_without_the_extra_the_run_goes_on_with_a_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "wandb.py").write_text("raise ImportError('no wandb here')\n")
    import os

    path = os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])
    result = scripted_run(tmp_path / "run", *WANDB, limit=1, env={"PYTHONPATH": path})
    assert result.returncode == 0, result.stderr
    assert "pip install 'mmrefine-agent[wandb]'" in result.stderr
