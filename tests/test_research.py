"""Research workflows: sweep -> compare, per-round analysis, localisation, trace, plots, HTML."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, mmrefine

from mmrefine_agent.analysis.metrics import paired_bootstrap
from mmrefine_agent.analysis.rounds import settled_round
from mmrefine_agent.config import load_config_dict
from mmrefine_agent.engine.sweep import cell_name, expand_grid
from mmrefine_agent.errors import ConfigError

MULTI_SCRIPT = Path(__file__).resolve().parent / "data" / "script_multi_round.yaml"
SWEEP_ARGS = (
    "--limit", "8", "--quiet",
    "--set", "model.backend=scripted",
    "--set", f"model.options.script={MULTI_SCRIPT}",
)  # fmt: skip


def sweep(out: Path, *extra: str) -> Any:
    """``mmrefine sweep configs/sweep_rounds.yaml`` with scripted multi-round answers."""
    return mmrefine("sweep", "configs/sweep_rounds.yaml", "--out", str(out), *SWEEP_ARGS, *extra)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sweep over strategy.max_rounds: [1, 3], shared by the tests below."""
    out = tmp_path_factory.mktemp("sweep") / "rounds"
    result = sweep(out)
    assert result.returncode == 0, result.stderr
    return out


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_sweep_makes_one_run_per_cell_sharing_the_cache(swept: Path) -> None:
    summary = load(swept / "sweep.json")
    assert [c["cell"] for c in summary["cells"]] == ["max_rounds=1", "max_rounds=3"]
    assert all(c["status"] == "ok" and c["n_judged"] == 8 for c in summary["cells"])
    one, three = (swept / "max_rounds=1", swept / "max_rounds=3")
    assert load(one / "fingerprint.json") != load(three / "fingerprint.json")
    assert max(r["n_rounds"] for r in lines(three / "results.jsonl")) == 3
    assert all(r["n_rounds"] == 1 for r in lines(one / "results.jsonl"))
    # round 1 of the 3-round cell is exactly the 1-round cell: answered from the shared cache
    first, second = summary["cells"]
    assert first["cache_hits"] == 0 and second["cache_hits"] >= first["calls"] == 16
    assert (swept / "cost_vs_refscore.png").stat().st_size > 1000


def test_an_interrupted_sweep_resumes(swept: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(swept, out)
    # as if killed during cell 2: three items done, no scores yet, no summary row
    results = out / "max_rounds=3" / "results.jsonl"
    results.write_text("".join(results.read_text().splitlines(keepends=True)[:3]))
    (out / "max_rounds=3" / "scores.json").unlink()
    (out / "sweep.json").unlink()
    result = sweep(out, "--set", "run.cache=false")
    assert result.returncode == 0, result.stderr
    cells = load(out / "sweep.json")["cells"]
    before = load(swept / "sweep.json")["cells"]
    # usage is each cell's run total over its sessions: the finished cell made no new call
    assert cells[0]["calls"] == before[0]["calls"] == 16
    sessions = load(out / "max_rounds=1" / "usage.json")["sessions"]
    assert sessions[-1]["refine"]["calls"] == 0  # the finished cell is not redone
    new_calls = load(out / "max_rounds=3" / "usage.json")["sessions"][-1]["refine"]["calls"]
    assert 0 < new_calls < 55 and cells[1]["n_judged"] == 8  # only the missing five
    assert len(lines(results)) == 8


def test_compare_pairs_the_runs(swept: Path) -> None:
    one, three = str(swept / "max_rounds=1"), str(swept / "max_rounds=3")
    result = mmrefine("compare", one, three, "--json")
    assert result.returncode == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert [r["label"] for r in comparison["runs"]] == ["max_rounds=1", "max_rounds=3"]
    pair = comparison["paired"][0]
    assert pair["n_shared"] == 8
    matrix = pair["transitions"]
    assert sum(sum(row.values()) for row in matrix.values()) == 8
    # the script makes the 3-round run talk every correct solution out of being correct
    assert matrix["VS"]["FD"] == 4 and matrix["RF"]["ED"] == 4 and pair["n_changed"] == 8
    fd = pair["differences"]["FD"]
    assert fd["a"] == 0.0 and fd["b"] == 1.0 and fd["diff"] == 1.0
    assert pair["differences"]["RefScore"]["diff"] == -1.0
    assert comparison["runs"][1]["usage"]["calls"] > 0
    text = mmrefine("compare", one, three)
    assert text.returncode == 0, text.stderr
    for expected in ("RefScore", "shared items", "items that changed scenario", "VS"):
        assert expected in text.stdout


def test_report_rounds_and_localisation(swept: Path) -> None:
    result = mmrefine(
        "report", str(swept / "max_rounds=3"), "--by", "round", "--by", "localisation"
    )
    assert result.returncode == 0, result.stderr
    assert "transitions round 1->2" in result.stdout
    assert "a verified-correct solution damaged by more refinement" in result.stdout
    assert "right error found" in result.stdout and "something else flagged" in result.stdout


def test_trace_shows_every_node_and_round_judgments(swept: Path) -> None:
    run = swept / "max_rounds=3"
    record = next(r for r in lines(run / "results.jsonl") if r["label"] == "correct")
    result = mmrefine("trace", str(run), record["key"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("question", "initial solution", "round 1", "round 3 - verify", "cache"):
        assert expected in out
    assert "VS Verification Success" in out and "FD False Error Detection" in out


def test_report_plots(swept: Path, tmp_path: Path) -> None:
    result = mmrefine("report", str(swept / "max_rounds=3"), "--plots", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    for name in ("refscore_per_round.png", "scenarios_by_error_type.png"):
        data = (tmp_path / "p" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000


W3C_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1998/Math/MathML"}


def chromium_path() -> str | None:
    """Debian's Chromium (installed by .ci/run), if present."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed")
def test_html_report_renders_in_headless_chromium(swept: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    run = swept / "max_rounds=3"
    page_path = tmp_path / "report.html"
    result = mmrefine("report", str(run), "--html", str(page_path))
    assert result.returncode == 0, result.stderr
    html = page_path.read_text()
    # self-contained: the only URLs are the XML namespaces inside the bundled KaTeX
    assert set(re.findall(r"https?://[^\s\"')]*", html)) <= W3C_NAMESPACES
    scores = load(run / "scores.json")["overall"]["rates"]
    records = lines(run / "results.jsonl")
    key = records[0]["key"]
    steps = [s for s in lines(run / "steps.jsonl") if s["item_key"] == key]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(page_path.as_uri())
            shown = page.locator('.metric[data-metric="RefScore"]').inner_text()
            assert shown == f"{100 * scores['RefScore']:.1f}"
            assert page.locator("#items tbody tr").count() == len(records)
            assert page.locator("svg.chart.bars").count() >= 3  # error type, source, modality
            assert page.locator("#trace").is_hidden()
            # drill down: click the first item
            page.locator(f'#items tr[data-key="{key}"]').click()
            trace = page.locator("#trace")
            trace.wait_for(state="visible")
            assert f"Trace {key}" in trace.inner_text()
            assert trace.locator(".step").count() == len(steps)
            assert trace.locator(".round-judgment").count() == 3
            assert "Initial solution" in trace.inner_text()
            # the filter narrows the table
            page.locator("#filter").fill("False Error")
            assert 0 < page.locator("#items tbody tr").count() < len(records)
            # a link to one item opens its trace directly
            page.goto(page_path.as_uri() + "#item=" + key.replace(" ", "%20"))
            page.locator("#trace").wait_for(state="visible")
            assert errors == []
        finally:
            browser.close()


def test_grid_errors_name_the_cell_and_key(tmp_path: Path) -> None:
    raw = load_config_dict(ROOT / "configs" / "sweep_rounds.yaml")
    with pytest.raises(ConfigError, match=r"grid\.strategy\.max_rounds must be a non-empty list"):
        expand_grid({**raw, "grid": {"strategy.max_rounds": 3}})
    with pytest.raises(
        ConfigError, match=r"(?s)cell max_roundz=1.*did you mean .strategy\.max_rounds"
    ):
        expand_grid({**raw, "grid": {"strategy.max_roundz": [1]}})
    cells = expand_grid(
        {**raw, "grid": {"model.name": ["openai/gpt-4o", "a b"], "strategy.name": ["x", "y"]}}
    )
    assert [c.name for c in cells][:2] == [
        "model.name=openai_gpt-4o__strategy.name=x",
        "model.name=openai_gpt-4o__strategy.name=y",
    ]
    assert cells[0].config.model.name == "openai/gpt-4o" and cells[0].config.grid == {}
    assert cell_name({"model.name": "a/b", "judge.name": "c"}) == "model.name=a_b__judge.name=c"


def test_paired_bootstrap_of_identical_runs_is_zero() -> None:
    problems = [f"p{i // 4}" for i in range(40)]
    scenarios = ["VS", "FD", "RS", "ED"] * 10
    out = paired_bootstrap(problems, scenarios, scenarios, resamples=200)
    assert out["RefScore"]["diff"] == 0.0 and out["RefScore"]["ci95"] == [0.0, 0.0]
    better = ["VS", "VS", "RS", "RS"] * 10
    out = paired_bootstrap(problems, scenarios, better, resamples=200)
    assert out["RefScore"]["diff"] == 1.0 and out["RefScore"]["ci95"][0] > 0


def test_settled_round() -> None:
    from mmrefine_agent.records.models import ItemResult

    def result(judged: list[dict]) -> ItemResult:
        rounds = [{**j, "judge": "offline"} for j in judged]
        return ItemResult(key="k", status="ok", round_judgments=rounds)

    judged = [{"round": 1, "scenario": "VS"}, {"round": 2, "scenario": "FD"}]
    assert settled_round(result([*judged, {"round": 3, "scenario": "FD"}])) == 2
    assert settled_round(result([{"round": 1, "scenario": "RS"}])) == 1
    assert settled_round(result([])) is None


def test_a_grid_value_naming_no_plugin_fails_before_any_cell_runs(tmp_path: Path) -> None:
    result = sweep(tmp_path / "s", "--set", "grid={strategy.name: [multi_round, multi_rnd]}")
    assert result.returncode == 2
    assert "cell name=multi_rnd" in result.stderr and "did you mean 'multi_round'" in result.stderr
    assert not (tmp_path / "s" / "name=multi_round").exists()  # nothing ran
