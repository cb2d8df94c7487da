"""``mmrefine report RUN --html FILE``: one self-contained HTML file, no server, no network.

The page holds the scores with intervals and their legend, scenario shares as stacked bars,
transition heat maps, step and per-round correction metrics, and the failure gallery: every
item in a table filtered by scenario, round-to-round transition or node parse failure. Opening
an item (click, ``j``/``k``, or ``FILE#item=KEY``) shows its trace: the image as the model
received it, the question and options with math rendered by the bundled KaTeX, the initial
solution in numbered steps with the reference's wrong step marked, then one panel per round with
each node's prompt (collapsed), answer and parsed fields, the flagged step, a word diff of what
the round changed, the judge calls and the scenario with the rule that produced it.

Model text is data: it travels in JSON blocks escaped against ending a script and is inserted
with ``textContent`` (math is rendered by KaTeX from text nodes, never parsed as HTML).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmrefine_agent.analysis.localisation import localisation, reference_steps
from mmrefine_agent.analysis.report_images import Images
from mmrefine_agent.analysis.report_items import (
    Strings,
    group_by_item,
    summary_row,
    trace_payload,
)
from mmrefine_agent.analysis.report_page import embed_json, json_block, page
from mmrefine_agent.analysis.report_sections import (
    BREAKDOWN_TITLES,
    breakdown_section,
    charts_section,
    localisation_section,
    round_correction_section,
    rounds_section,
    scores_section,
    step_metrics_section,
)
from mmrefine_agent.analysis.rounds import round_analysis
from mmrefine_agent.analysis.step_compare import reference_words
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES
from mmrefine_agent.records.rundir import CONFIG, RunDir, write_text_atomic
from mmrefine_agent.run_view import RunView, open_run

__all__ = ["embed_json", "report_data", "write_html_report"]
_E = html.escape
SCRIPTS = ["diff.js", "trace.js", "report.js"]


def report_data(view: RunView) -> tuple[dict[str, Any], list[str], dict[str, str], list[Any]]:
    """(summary data, interned strings, images by hash, one trace per item) for one run."""
    items = view.items
    references = reference_steps(items)
    steps, calls = group_by_item(view.steps, view.judgments)
    strings = Strings()
    images = Images(view.config.model.max_image_side, run_dir=view.path)
    rows, traces = [], []
    for record in view.results:
        item_steps = steps.get(record.key, [])
        rows.append(summary_row(record, item_steps))
        traces.append(
            trace_payload(
                record,
                items.get(record.key),
                item_steps,
                calls.get(record.key, []),
                references.get(record.key),
                strings,
                images,
            )
        )
    data = {
        "items": rows,
        "names": OFFICIAL_NAMES,
        "image_facts": images.facts,
        "counts": {
            "scenario": Counter(r["scenario"] for r in rows if r["scenario"]),
            "status": Counter(r["status"] for r in rows),
        },
    }
    return data, strings.values, images.urls, traces


def write_html_report(run: RunDir | Path | str, out: Path, plugins: Sequence[str] = ()) -> Path:
    """Write the self-contained report for one run directory; returns its path.

    ``plugins``: plugin modules besides those the run recorded (which are loaded and checked).
    """
    if not isinstance(run, RunDir):
        run = RunDir(Path(run)).require()
    scores = run.scores()
    view = open_run(run.path, plugins)
    view.plugins  # noqa: B018 - loads and checks the run's plugins (a PluginError if changed)
    results = view.results
    config_text = run.file(CONFIG).read_text(encoding="utf-8")
    data, strings, images, traces = report_data(view)
    proxy = (
        '<p class="warn">PROXY scores: judged by the offline judge, not the official '
        "GPT-4o judge.</p>"
        if scores.is_proxy
        else ""
    )
    sweep_link = ""
    if (run.path.parent / "sweep.json").is_file():
        sweep_link = '<p class="meta">part of a sweep: <code>mmrefine report SWEEP_DIR</code></p>'
    body = [
        '<header><h1>MMRefine report: <span class="run">'
        f"{_E(run.path.name)}</span></h1>{proxy}{sweep_link}"
        f'<p class="meta">judge {_E(str(scores.judge))} - items {scores.n_items}, judged '
        f"{scores.n_judged}, judge errors {scores.judge_errors}, failed items "
        f"{scores.n_failed_items}, images not seen {scores.not_seen_images}</p>"
        '<nav><a href="#scores">scores</a> <a href="#charts">charts</a> '
        '<a href="#gallery">items</a></nav></header>',
        '<h2 id="scores">Scores</h2>',
        scores_section(scores),
        '<h2 id="charts">Scenario shares</h2>',
        charts_section(scores),
        "<details><summary>the same as tables</summary>",
        *(breakdown_section(scores, by) for by in BREAKDOWN_TITLES),
        "</details>",
        rounds_section(round_analysis(results, scores)),
        step_metrics_section(scores.step_metrics),
        round_correction_section(scores.round_correction),
        localisation_section(
            localisation(results, reference_steps(view.items)), reference_words(view.items)
        ),
        '<h2 id="gallery">Items</h2>',
        '<p class="meta">Filter by scenario, transition or parse failure; click an item or use '
        "<kbd>j</kbd>/<kbd>k</kbd> (or <kbd>&rarr;</kbd>/<kbd>&larr;</kbd>) to step through "
        "the items shown.</p>",
        '<div id="facets"></div>',
        '<div class="controls"><input id="filter" placeholder="filter: key, type, scenario">'
        ' <span id="count"></span></div>',
        '<div class="split"><div class="list"><table id="items"><thead><tr><th>item</th>'
        "<th>label / error type</th><th>modality</th><th>final</th>"
        "<th>per round</th><th>tokens</th></tr></thead><tbody></tbody></table></div>"
        '<section id="trace" hidden></section></div>',
        '<div id="lightbox" hidden><img alt="enlarged image"></div>',
        f"<details><summary>config.yaml</summary><pre>{_E(config_text)}</pre></details>",
    ]
    blocks = [
        json_block("data", data),
        json_block("strings", strings),
        json_block("images", images),
        *(json_block(f"t-{index}", trace) for index, trace in enumerate(traces)),
    ]
    text = page(f"MMRefine report: {run.path.name}", "".join(body), blocks, SCRIPTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)  # a kill while writing leaves the report that was there
    return out
