"""Output for pipes and people: whole names at any width, ``--json`` as typed models,
``--quiet`` headlines, a legend for what the table shows, and why each item stopped."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import ROOT, SCRIPT, mmrefine, scripted_run
from rich.console import Console

from mmrefine_agent import Scores
from mmrefine_agent.cli.render import scores_table
from mmrefine_agent.records.documents import ScoreBlock
from mmrefine_agent.records.outputs import Comparison, PluginListing


def test_plugins_at_80_columns_and_in_a_pipe_lists_every_name_whole() -> None:
    listed = mmrefine("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    listing = PluginListing.model_validate_json(listed.stdout)
    kinds = {e.kind for e in listing.plugins}
    assert {"backend", "strategy", "judge", "dataset", "tool"} <= kinds
    names = {e.name for e in listing.plugins}
    assert "bigbench_mistake" in names and "mmrefine_register_datasets" in listing.hooks
    for env in ({"COLUMNS": "80"}, {"COLUMNS": "60"}):  # the helper pipes stdout
        shown = mmrefine("plugins", env=env)
        assert shown.returncode == 0, shown.stderr
        assert "…" not in shown.stdout
        lines = shown.stdout.splitlines()
        assert max(len(line) for line in lines) <= int(env["COLUMNS"])
        cells = {part.strip() for line in lines for part in line.split("│")}
        for name in names:
            assert name in cells, (name, env)


def test_quiet_prints_the_directory_the_headlines_and_what_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = scripted_run(out, "--set", "data.balanced=true", limit=4)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"run directory: {out}"
    assert lines[1].startswith("RefScore ") and "mRecall" in lines[1]
    assert "judged 4 of 4" in lines[1] and len(lines) == 2

    (tmp_path / "boom_answers.py").write_text(
        "def answer(request):\n    raise RuntimeError('the server is down')\n"
    )
    failed = tmp_path / "failed"
    missing = scripted_run(failed, "--set", "model.options.callable=boom_answers:answer",
                           limit=2, env={"PYTHONPATH": str(tmp_path)})  # fmt: skip
    assert missing.returncode == 1, missing.stderr
    text = " ".join(missing.stdout.split())
    assert text.startswith(f"run directory: {failed} not scored:"), text
    assert "incomplete: failed 2" in text and "the server is down" in text, text
    assert "┃" not in text and "what the numbers mean" not in text

    report = mmrefine("report", str(out), "--json")
    assert report.returncode == 0, report.stderr
    assert Scores.model_validate_json(report.stdout).n_items == 4


def test_the_legend_explains_only_what_the_table_shows() -> None:
    overall = ScoreBlock(n=2, counts={"VS": 1, "RS": 1}, rates={"RefScore": 1.0})

    def shown(scores: Scores, model: str | None) -> str:
        console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(scores_table(scores, model=model))
        return " ".join(console.export_text().split())

    official = shown(Scores(judge="mmrefine_official", n_judged=2, overall=overall), "gpt-4o")
    assert "what the numbers mean" in official and "RefScore = RS - FD" in official
    assert "PROXY" not in official and "135M" not in official and "images not seen" not in official
    proxy = Scores(judge="offline", is_proxy=True, n_judged=2, overall=overall, not_seen_images=1)
    tiny = shown(proxy, "SmolLM2-135M-Instruct")
    assert "PROXY: the offline judge" in tiny and "135M" in tiny and "images not seen:" in tiny


def test_trace_says_why_each_item_stopped(tmp_path: Path) -> None:
    multi = ROOT / "tests" / "data" / "script_multi_round.yaml"
    for rounds, reason in ((2, "max_rounds: the limit of 2 round(s)"), (3, "verified: round 3")):
        out = tmp_path / f"r{rounds}"
        done = scripted_run(out, "--set", "strategy.name=multi_round", "--set",
                            f"strategy.max_rounds={rounds}", "--set",
                            f"model.options.script={multi}", limit=1)  # fmt: skip
        assert done.returncode == 0, done.stderr
        key = json.loads((out / "results.jsonl").read_text().splitlines()[0])["key"]
        trace = mmrefine("trace", str(out), key)
        assert trace.returncode == 0, trace.stderr
        assert reason in " ".join(trace.stdout.split()), trace.stdout


def test_compare_json_is_a_comparison(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert scripted_run(out, limit=2).returncode == 0
    result = mmrefine("compare", str(a), str(b), "--json")
    assert result.returncode == 0, result.stderr
    comparison = Comparison.model_validate_json(result.stdout)
    assert comparison.baseline == "a" and comparison.paired[0].step_metrics is not None
    assert json.loads(result.stdout)["version"] == comparison.version
    assert SCRIPT.is_file()


def test_the_sweep_summary_keeps_names_and_figures_whole_at_80_columns() -> None:
    from mmrefine_agent.cli.render_research import sweep_table
    from mmrefine_agent.records.models import CellSummary

    grid = {"strategy.name": ["single_pass", "self_critique"], "strategy.max_rounds": [1, 3]}
    rows = [
        CellSummary(cell=f"name={s}__max_rounds={r}", values={"strategy.name": s,
                    "strategy.max_rounds": r}, run_dir="x", status="ok", n_judged=120,
                    rates={"RefScore": -0.25 * r, "mRecall": 0.5, "RS": 0.1, "FD": 0.35},
                    calls=12345, cache_hits=678, tokens=1234567, cost_usd=12.3456,
                    elapsed_s=1234.5)
        for s in grid["strategy.name"] for r in grid["strategy.max_rounds"]
    ]  # fmt: skip
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(sweep_table("grid", rows, grid))
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    for row in rows:
        for part in row.cell.split("__"):  # each axis value whole, on its own line
            assert part in text, part
    for figure in ("-75.0", "1234567", "12.3456", "1234.5", "12345"):
        assert figure in text, figure
