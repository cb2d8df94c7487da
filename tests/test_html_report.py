"""The HTML reports (run and sweep) in headless Chromium, and the pure parts behind them."""

from __future__ import annotations

import base64
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from helpers import mmrefine, scripted_run
from hypothesis import given
from hypothesis import strategies as st

from mmrefine_agent.analysis.legend import LEGEND
from mmrefine_agent.analysis.localisation import reference_steps
from mmrefine_agent.analysis.report_charts import heat_map, stacked_bars
from mmrefine_agent.analysis.report_items import Strings, solution_steps
from mmrefine_agent.analysis.report_page import json_block, katex_css
from mmrefine_agent.judging.scenarios import scenario_rule

MULTI_SCRIPT = Path(__file__).resolve().parent / "data" / "script_multi_round.yaml"
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


needs_chromium = pytest.mark.skipif(chromium_path() is None, reason="no Debian chromium")


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-cell sweep (1 and 3 rounds) over 8 items, half of them with an image."""
    out = tmp_path_factory.mktemp("viewer") / "rounds"
    cache = tmp_path_factory.mktemp("viewer-cache")  # its own: other modules count cache hits
    result = mmrefine(
        "sweep", "configs/sweep_rounds.yaml", "--out", str(out), "--limit", "8", "--quiet",
        "--set", "model.backend=scripted", "--set", f"model.options.script={MULTI_SCRIPT}",
        "--html", str(out.parent / "at-end.html"), "--set", f"run.cache_dir={cache}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "max_rounds=3" in (out.parent / "at-end.html").read_text()  # sweep --html
    assert (out.parent / "at-end_cells" / "max_rounds=1.html").is_file()
    return out


@pytest.fixture(scope="module")
def report(swept: Path) -> Path:
    page = swept.parent / "r3.html"
    result = mmrefine("report", str(swept / "max_rounds=3"), "--html", str(page))
    assert result.returncode == 0, result.stderr
    return page


@contextmanager
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page that records page errors and refuses every non-file request."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(15_000)
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

            def refuse(route: Any) -> None:
                problems.append(f"network request: {route.request.url}")
                route.abort()

            page.route("http*://**/*", refuse)
            yield page, problems
        finally:
            browser.close()


def link(key: str) -> str:
    return "#item=" + key.replace(" ", "%20")


@needs_chromium
def test_item_view_shows_the_image_as_sent_math_diff_and_rule(swept: Path, report: Path) -> None:
    from mmrefine_agent.model.image_urls import encode_image
    from mmrefine_agent.run_view import open_run

    run = swept / "max_rounds=3"
    view = open_run(run)
    records = lines(run / "results.jsonl")
    record = next(r for r in records if r["modality"] == "image" and r["label"] == "incorrect")
    key = record["key"]
    sent = encode_image(view.items[key].image, view.config.model.max_image_side)
    latex_key = next(k for k, item in view.items.items() if "$" in item.question)
    with browser_page() as (page, problems):
        page.goto(report.as_uri() + link(key))
        trace = page.locator("#trace")
        trace.wait_for(state="visible")
        image = trace.locator("figure.item-image img")
        assert image.is_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        src = image.get_attribute("src") or ""
        assert src == sent  # the very bytes the run sent (small enough to show as they are)
        assert base64.b64decode(src.split(",", 1)[1]) == view.items[key].image.data
        image.click()
        assert page.locator("#lightbox").is_visible()
        page.keyboard.press("Escape")
        assert page.locator("#lightbox").is_hidden()
        # one panel per round; round 2 flags step 2 and rewrites the solution
        assert trace.locator("section.round").count() == record["n_rounds"] == 3
        second = trace.locator('section.round[data-round="2"]')
        assert second.locator('.sol-step.flagged[data-step="2"]').count() == 1
        inserted = second.locator(".diff ins").all_inner_texts()
        assert any("fixed" in text for text in inserted)
        assert second.locator(".diff del").count() > 0
        rules = [j["rule"] for j in record["round_judgments"]]
        shown = trace.locator(".judge-box .mm-rule").all_inner_texts()
        assert shown == [f"rule: {rule}" for rule in rules] and all("->" in r for r in rules)
        assert trace.locator(".step").count() == len(
            [s for s in lines(run / "steps.jsonl") if s["item_key"] == key]
        )
        # prompts are collapsed, the answers shown
        assert trace.locator(".call details:not([open]) > summary").first.is_visible()
        # math: KaTeX output for a LaTeX question; what it cannot parse stays as text
        page.goto(report.as_uri() + link(latex_key))
        page.locator("#trace .question .katex").first.wait_for()
        kept = page.evaluate(
            "() => { const d = document.createElement('div');"
            " d.textContent = 'bad $\\\\nosuchmacro{1}$ and $x^2$';"
            " MMTrace.math(d); return [d.querySelectorAll('.katex').length, d.textContent]; }"
        )
        assert kept[0] == 1 and "bad $\\nosuchmacro{1}$ and" in kept[1]
        # the reference's first wrong step is marked in the initial solution
        references = reference_steps(view.items)
        named = next(k for k, step in references.items() if step is not None)
        page.goto(report.as_uri() + link(named))
        marked = page.locator("#trace > .steps .sol-step.ref-wrong")
        marked.first.wait_for()
        assert marked.count() == 1
        assert marked.get_attribute("data-step") == str(references[named])
        # the word diff itself
        ops = page.evaluate("() => MMDiff.diffWords('the sign is wrong', 'the sign is right')")
        assert [o["op"] for o in ops] == ["eq", "del", "ins"]
        assert (ops[1]["text"], ops[2]["text"]) == ("wrong", "right")
        # keyboard: j opens the next item of the list, k goes back
        # in the order of the page's rows (results.jsonl is in completion order)
        order = page.eval_on_selector_all("#items tbody tr", "rows => rows.map(r => r.dataset.key)")
        assert sorted(order) == sorted(r["key"] for r in records)
        at = order.index(named)
        page.keyboard.press("k" if at == len(order) - 1 else "j")
        other = order[at - 1] if at == len(order) - 1 else order[at + 1]
        page.wait_for_function("k => decodeURIComponent(location.hash) === '#item=' + k", arg=other)
        page.keyboard.press("j" if at == len(order) - 1 else "k")
        page.wait_for_function("k => decodeURIComponent(location.hash) === '#item=' + k", arg=named)
        assert problems == []


@needs_chromium
def test_gallery_filter_counts_match_results(swept: Path, report: Path) -> None:
    records = lines(swept / "max_rounds=3" / "results.jsonl")
    scenarios = Counter(r["judgment"]["scenario"] for r in records)
    transitions: Counter[str] = Counter()
    for r in records:
        sequence = [j["scenario"] for j in r["round_judgments"]]
        transitions.update({f"{a}->{b}" for a, b in pairwise(sequence)})
    with browser_page() as (page, problems):
        page.goto(report.as_uri())

        def chips(facet: str) -> dict[str, int]:
            found = page.locator(f'#facets button.chip[data-facet="{facet}"]')
            return {
                found.nth(i).get_attribute("data-value") or "": int(
                    found.nth(i).locator(".n").inner_text()
                )
                for i in range(found.count())
            }

        assert chips("scenario") == dict(scenarios)
        assert chips("transition") == dict(transitions)
        assert transitions["VS->FD"] == 4  # the script talks correct solutions out of it
        page.locator('#facets button[data-value="VS->FD"]').click()
        assert page.locator("#items tbody tr").count() == transitions["VS->FD"]
        page.locator('#facets button[data-value="FD"]').click()  # and final scenario FD
        assert page.locator("#items tbody tr").count() == 4
        assert "4 of 8 items shown" in page.locator("#count").inner_text()
        page.locator('#facets button[data-value="VS->FD"]').click()  # off again
        page.locator('#facets button[data-value="FD"]').click()
        assert page.locator("#items tbody tr").count() == len(records)
        assert " ".join(page.locator("#legend").inner_text().split()) == " ".join(LEGEND.split())
        assert page.locator("svg.chart.heat").count() == 2  # rounds 1->2 and 2->3
        scores = json.loads((swept / "max_rounds=3" / "scores.json").read_text())
        for key, title in (("step_metrics", "Step metrics"),
                           ("round_correction", "Correction across rounds")):  # fmt: skip
            assert page.locator("h2", has_text=title).count() == (1 if scores.get(key) else 0)
        assert scores["step_metrics"] and scores["round_correction"]
        assert problems == []


@needs_chromium
def test_sweep_page_lists_every_cell_and_links_their_items(swept: Path, tmp_path: Path) -> None:
    page_path = tmp_path / "sweep.html"
    result = mmrefine("report", str(swept), "--html", str(page_path), "--baseline", "max_rounds=3")
    assert result.returncode == 0, result.stderr
    cells = json.loads((swept / "sweep.json").read_text())["cells"]
    with browser_page() as (page, problems):
        page.goto(page_path.as_uri())
        rows = page.locator("tr.cell-row")
        assert rows.count() == len(cells) == 2
        assert [rows.nth(i).locator("td").first.inner_text() for i in range(2)] == [
            "max_rounds=1", "max_rounds=3 (baseline)"
        ]  # fmt: skip
        refscore = cells[0]["rates"]["RefScore"]
        assert f"{100 * refscore:.1f}" in rows.nth(0).locator("td").nth(3).inner_text()
        assert page.locator("svg.chart.scatter circle").count() == 2
        paired = page.locator("table.paired tbody tr")
        assert paired.count() == 1 and paired.first.locator("td").first.inner_text() == (
            "max_rounds=1"
        )
        # a changed item links into the other cell's own report, which opens on its trace
        changed = page.locator("ul a").first
        href = changed.get_attribute("href") or ""
        assert href.startswith("sweep_cells/max_rounds=1.html#item=")
        changed.click()
        page.locator("#trace").wait_for(state="visible")
        assert page.locator("#trace h2").inner_text().startswith("Trace ")
        assert problems == []
    bad = mmrefine("report", str(swept), "--html", str(page_path), "--baseline", "nope")
    assert bad.returncode == 2 and "not a cell of this sweep" in bad.stderr


@needs_chromium
def test_parse_failures_are_a_gallery_filter_and_the_rule_says_why(tmp_path: Path) -> None:
    script = tmp_path / "vague.json"
    script.write_text(json.dumps({"default": "I am not sure about this one."}))
    run, page_path = tmp_path / "run", tmp_path / "r.html"
    result = scripted_run(run, "--set", f"model.options.script={script}", limit=3)
    assert result.returncode == 0, result.stderr
    assert mmrefine("report", str(run), "--html", str(page_path)).returncode == 0
    failed: dict[str, set[str]] = {}
    for step in lines(run / "steps.jsonl"):
        if step["parse_errors"]:
            failed.setdefault(step["node"], set()).add(step["item_key"])
    everyone = set().union(*failed.values())
    correct = next(r for r in lines(run / "results.jsonl") if r["label"] == "correct")
    with browser_page() as (page, problems):
        page.goto(page_path.as_uri())
        chips = page.locator('#facets button[data-facet="parse"]')
        counts = {
            chips.nth(i).get_attribute("data-value"): int(chips.nth(i).locator(".n").inner_text())
            for i in range(chips.count())
        }
        assert counts == {"any node": len(everyone), **{n: len(k) for n, k in failed.items()}}
        page.locator('#facets button[data-facet="parse"][data-value="detect"]').click()
        assert page.locator("#items tbody tr").count() == len(failed["detect"])
        page.goto(page_path.as_uri() + link(correct["key"]))
        trace = page.locator("#trace")
        trace.wait_for(state="visible")
        assert trace.locator(".step.parse-failed").count() == len(
            [n for n, keys in failed.items() if correct["key"] in keys]
        )
        assert "rule: label correct; no verdict parsed -> FD" in trace.inner_text()
        assert problems == []


def test_the_report_embeds_model_text_safely_and_katex_fonts_inline(report: Path) -> None:
    page = report.read_text()
    for block in page.split('<script type="application/json"')[1:]:
        data = block[block.index(">") + 1 : block.index("</script>")]
        assert "<" not in data and "-->" not in data
    assert "url(fonts/" not in page and page.count("data:font/woff2;base64,") == 20
    nasty = "</script><!--<script>alert(1)</script>\u2028"
    block = json_block("x", {"t": nasty})
    inner = block[block.index(">") + 1 : -len("</script>")]
    assert "<" not in inner and json.loads(inner) == {"t": nasty}
    assert "url(fonts/" not in katex_css()


def test_solution_steps() -> None:
    assert solution_steps("x", ("a", "b")) == (True, [(1, "a"), (2, "b")])
    marked = "Intro.\n**Step 1:** add\nmore\n### Step 2: divide"
    assert solution_steps(marked, ()) == (
        True, [(None, "Intro."), (1, "**Step 1:** add\nmore"), (2, "### Step 2: divide")]
    )  # fmt: skip
    listed = "Let's see.\n1) first\n2) second\n   - detail"
    assert solution_steps(listed, ())[1][1:] == [(1, "1) first"), (2, "2) second\n   - detail")]
    # numbers that do not count up from 1 are not steps: paragraphs are numbered instead
    assert solution_steps("3. x\n5. y\n\nlast", ()) == (False, [(1, "3. x\n5. y"), (2, "last")])


def test_scenario_rule_explains_old_judgments() -> None:
    assert scenario_rule("correct", "FD", {}, "label correct; judge eval_correct = 0 -> FD") == (
        "label correct; judge eval_correct = 0 -> FD"
    )
    assert scenario_rule("correct", "FD", {"verdict": None}) == (
        "label correct; no verdict parsed -> FD"
    )
    fields = {"error_detection": 1, "error_correction": 0, "solution_correctness": 0}
    assert scenario_rule("incorrect", "ED", fields).endswith("detected, not corrected -> ED")
    assert scenario_rule("correct", "VS", {"solution_correctness": 1}) == (
        "label correct; judge eval_correct = 1 -> VS"
    )
    assert "judge_error" in scenario_rule("incorrect", "judge_error", {})


@given(st.text())
def test_embedded_json_round_trips_and_never_holds_markup(text: str) -> None:
    block = json_block("b", [text])
    inner = block[block.index(">") + 1 : -len("</script>")]
    assert json.loads(inner) == [text] and "<" not in inner and ">" not in inner


@given(st.text())
def test_strings_restore_every_text(text: str) -> None:
    strings = Strings()
    ids = strings.ids(text)
    assert ids is not None and "\n\n".join(strings.values[i] for i in ids) == text
    assert strings.ids(text) == ids and len(strings.values) == len(set(strings.values))


def test_charts_escape_names_and_show_n() -> None:
    svg = stacked_bars("t", {"<b>&": {"RS": 1, "FD": 3}})
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg and "n=4" in svg and "FD 75%" in svg
    heat = heat_map("h", {"VS": {"FD": 2, "VS": 1}}, ("VS", "FD"))
    assert "n=3" in heat and ">2</text>" in heat
