import json
from pathlib import Path

import pytest
from helpers import mmrefine, scripted_run


def test_help_is_fast_and_lists_commands() -> None:
    result = mmrefine("--help")
    assert result.returncode == 0
    for command in ("run", "judge", "report", "trace", "plugins", "data", "sweep", "compare"):
        assert command in result.stdout


def test_plugins_lists_builtins() -> None:
    result = mmrefine("plugins")
    assert result.returncode == 0, result.stderr
    for name in (
        "single_pass",
        "self_critique",
        "multi_round",
        "litellm",
        "scripted",
        "llamacpp",
        "mmrefine_official",
        "offline",
    ):
        assert name in result.stdout


def test_run_writes_the_run_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = scripted_run(out, env={"OPENAI_API_KEY": "sk-secret-abc123"})
    assert result.returncode == 0, result.stderr
    for name in (
        "config.yaml",
        "steps.jsonl",
        "results.jsonl",
        "judgments.jsonl",
        "scores.json",
        "submission.json",
    ):
        assert (out / name).is_file(), name
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(results) == 6 and all(r["status"] == "ok" for r in results)
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert {s["node"] for s in steps} == {"detect", "locate", "correct", "verify"}
    assert all(
        k in steps[0]
        for k in (
            "item_key",
            "round",
            "node",
            "prompt",
            "raw_answer",
            "parsed",
            "model",
            "tokens",
            "cost_usd",
            "latency_s",
            "cache_hit",
        )
    )
    scores = json.loads((out / "scores.json").read_text())
    assert scores["is_proxy"] is True and scores["overall"]["n"] == 6
    submission = json.loads((out / "submission.json").read_text())
    assert len(submission) == 6
    first = next(iter(submission.values()))
    assert set(first) >= {
        "id",
        "solution_source",
        "question",
        "answer",
        "initial_solution",
        "solution_label",
        "reference_feedback",
        "error_type",
        "prediction",
    }
    for path in out.iterdir():
        assert "sk-secret-abc123" not in path.read_text(), path


def test_rerun_resumes_and_cache_avoids_calls(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert scripted_run(out).returncode == 0
    again = scripted_run(out)
    assert again.returncode == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 6
    fresh = scripted_run(tmp_path / "other")
    assert fresh.returncode == 0
    usage = json.loads((tmp_path / "other" / "usage.json").read_text())
    assert usage["refine"]["calls"] == 0 and usage["refine"]["cache_hits"] == 6


def test_changed_config_is_refused_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert scripted_run(out).returncode == 0
    result = scripted_run(out, "--set", "strategy.name=multi_round")
    assert result.returncode == 2
    assert "different settings" in result.stderr and "strategy.name" in result.stderr


def test_bad_config_key_exits_with_clear_error(tmp_path: Path) -> None:
    result = mmrefine("run", "configs/quickstart.yaml", "--set", "strategy.nmae=x")
    assert result.returncode == 2
    assert "strategy.nmae" in result.stderr and "did you mean 'strategy.name'" in result.stderr


def test_report_and_trace(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert scripted_run(out).returncode == 0
    report = mmrefine("report", str(out), "--by", "modality", "--by", "solution_source")
    assert report.returncode == 0, report.stderr
    assert (
        "RefScore" in report.stdout and "PROXY" in report.stdout and "by modality" in report.stdout
    )
    as_json = mmrefine("report", str(out), "--json")
    assert json.loads(as_json.stdout)["overall"]["n"] == 6
    key = json.loads((out / "results.jsonl").read_text().splitlines()[0])["key"]
    trace = mmrefine("trace", str(out), key)
    assert trace.returncode == 0, trace.stderr
    for node in ("detect", "locate", "correct", "verify"):
        assert node in trace.stdout
    assert "parse-only" in trace.stdout
    missing = mmrefine("trace", str(out), "nope")
    assert missing.returncode == 2 and "no item" in missing.stderr


@pytest.mark.parametrize("action", ["info"])
def test_data_info(action: str) -> None:
    result = mmrefine("data", action)
    assert result.returncode == 0, result.stderr
    assert "800 items" in result.stdout and "Perception Error" in result.stdout


def test_a_corrupt_image_row_is_recorded_and_the_run_goes_on(
    data_dir: Path, tmp_path: Path
) -> None:
    import io

    from PIL import Image
    from test_dataset import _write_rows

    from mmrefine_agent.data.mmrefine import read_rows

    rows = read_rows(data_dir / "MMRefine_test.parquet")
    good = [dict(r) for r in rows if r["image"]][:3]
    bad = dict([r for r in rows if r["image"]][3])
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buffer, format="JPEG")
    bad["image"] = {"bytes": buffer.getvalue()[:200], "path": "broken.jpg"}
    parquet = _write_rows(tmp_path / "with_bad_image.parquet", [*good, bad])
    result = scripted_run(tmp_path / "r", "--set", f"data.parquet={parquet}", limit=10)
    assert result.returncode == 1, result.stderr  # incomplete: one item failed
    records = [json.loads(x) for x in (tmp_path / "r" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in records) == ["data_error", "ok", "ok", "ok"]
    broken = next(r for r in records if r["status"] == "data_error")
    assert str(parquet) in broken["error"] and "row 3" in broken["error"]  # 0-based
    assert broken["field"] == "image" and bad["id"] in broken["error"]
    assert "1 item(s) failed" in result.stdout or "failed 1" in result.stdout


def test_config_key_reference_is_in_sync() -> None:
    from mmrefine_agent.cli.config_keys import keys_markdown

    documented = (Path(__file__).resolve().parent.parent / "docs" / "config.md").read_text()
    assert documented == keys_markdown(), "run: mmrefine config --keys --markdown > docs/config.md"
    shown = mmrefine("config", "--keys")
    assert shown.returncode == 0 and "strategy.max_rounds" in shown.stdout


def test_trace_without_a_key_lists_the_items(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert scripted_run(out, limit=2).returncode == 0
    listed = mmrefine("trace", str(out))
    assert listed.returncode == 0, listed.stderr
    for line in (out / "results.jsonl").read_text().splitlines():
        assert json.loads(line)["key"].split("_")[0] in listed.stdout
