"""``mmrefine report RUN --html FILE``: one self-contained HTML file, no server needed.

Holds the scores with intervals, the breakdowns, per-round analysis, localisation, the PNG
plots (inline, base64) and a per-item table; clicking an item (or opening ``FILE#item=KEY``)
shows its trace: question, initial solution, each step with its prompt (summarised), answer,
parsed fields, tokens, latency and cache hit, and the judged scenario per round. The item data
is embedded as JSON and rendered with ``textContent`` (model output is never parsed as HTML).
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path
from typing import Any

from mmrefine_agent.analysis.localisation import (
    OUTCOME_LABELS,
    OUTCOMES,
    localisation,
    reference_steps,
)
from mmrefine_agent.analysis.metrics import final_scenario
from mmrefine_agent.analysis.rounds import round_analysis
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES, SCENARIOS
from mmrefine_agent.records.rundir import CONFIG, RunDir

PROMPT_HEAD, PROMPT_TAIL = 700, 400
ASSETS = Path(__file__).resolve().parent / "report_assets"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def summarise(text: str | None) -> str:
    """A long prompt cut to its head and tail, saying how much was left out."""
    if not text or len(text) <= PROMPT_HEAD + PROMPT_TAIL + 100:
        return text or ""
    omitted = len(text) - PROMPT_HEAD - PROMPT_TAIL
    return f"{text[:PROMPT_HEAD]}\n[... {omitted} characters omitted ...]\n{text[-PROMPT_TAIL:]}"


def scores_section(scores: dict[str, Any]) -> str:
    """The overall rates with 95% intervals and counts."""
    overall = scores["overall"]
    rates, counts, ci = overall["rates"], overall["counts"], overall.get("ci95") or {}
    rows = []
    for code in (*("RS", "EC", "ED", "RF", "VS", "FD"), "RefScore", "mRecall", "RS/ED"):
        interval = ci.get(code)
        name = f"{code} {OFFICIAL_NAMES[code]}" if code in OFFICIAL_NAMES else code
        rows.append(
            [
                html.escape(name),
                f'<span class="metric" data-metric="{html.escape(code)}">'
                f"{_pct(rates.get(code))}</span>",
                "" if not interval else f"[{_pct(interval[0])}, {_pct(interval[1])}]",
                str(counts.get(code, "")),
            ]
        )
    return _table(["metric", "value (%)", "95% CI", "count"], rows, "scores")


def breakdown_section(scores: dict[str, Any], by: str) -> str:
    """One breakdown (error type, solution source, modality or round) as a table."""
    groups = (scores.get("by") or {}).get(by) or {}
    columns = ["RS", "EC", "ED", "RF", "VS", "FD", "RefScore", "mRecall"]
    rows = [
        [html.escape(name), str(block.get("n", 0))]
        + [_pct((block.get("rates") or {}).get(c)) for c in columns]
        for name, block in groups.items()
    ]
    return f"<h3>by {html.escape(by)}</h3>" + _table([by, "n", *columns], rows)


def rounds_section(analysis: dict[str, Any]) -> str:
    """Transition matrices and what later rounds changed (multi-round runs)."""
    if not analysis["transitions"]:
        return ""
    parts = ["<h2>Rounds</h2>"]
    for step, matrix in analysis["transitions"].items():
        rows = [
            [before, *[str(matrix[before][after] or ".") for after in SCENARIOS]]
            for before in SCENARIOS
        ]
        parts.append(f"<h3>transitions round {html.escape(step)}</h3>")
        parts.append(_table(["from \\ to", *SCENARIOS], rows, "matrix"))
    if analysis["notable"]:
        rows = [
            [r["rounds"], r["from"], r["to"], str(r["count"]), html.escape(r["meaning"])]
            for r in analysis["notable"]
        ]
        parts.append("<h3>what later rounds changed</h3>")
        parts.append(_table(["rounds", "from", "to", "items", "meaning"], rows))
    settled = [[k, str(v)] for k, v in analysis["settled_at"].items()]
    parts.append("<h3>round at which items settled</h3>" + _table(["round", "items"], settled))
    return "".join(parts)


def localisation_section(result: dict[str, Any]) -> str:
    """Right step found vs something else flagged, per error type."""
    if not result["overall"]["n"]:
        return ""
    rows = []
    for name, block in [*result["by_error_type"].items(), ("all", result["overall"])]:
        shares = block["share"]
        rows.append(
            [html.escape(name), str(block["n"])]
            + [f"{block[o]} ({_pct(shares[o])}%)" for o in OUTCOMES]
        )
    headers = ["error type", "n", *(OUTCOME_LABELS[o] for o in OUTCOMES)]
    return (
        "<h2>Localisation</h2><p>The step the model flagged first vs the step the reference "
        "feedback names.</p>" + _table(headers, rows)
    )


def plots_section(scores: dict[str, Any]) -> str:
    """Every applicable plot, inlined as base64 PNG."""
    from mmrefine_agent.analysis.plots import plot_run

    with tempfile.TemporaryDirectory() as tmp:
        images = [
            (path.stem, base64.b64encode(path.read_bytes()).decode("ascii"))
            for path in plot_run(scores, Path(tmp))
        ]
    return "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,{data}"/>'
        f"<figcaption>{name}</figcaption></figure>"
        for name, data in images
    )


def item_payload(
    run: RunDir, results: list[dict[str, Any]], context: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per item: result fields, the question context, the judged scenarios and the steps."""
    steps_by_item: dict[str, list[dict[str, Any]]] = {}
    for step in run.steps():
        calls = []
        for call in step.get("calls") or []:
            usage = call.get("usage") or {}
            calls.append(
                {
                    "messages": [
                        {
                            "role": m.get("role"),
                            "text": summarise(m.get("text")),
                            "images": len(m.get("images") or []),
                        }
                        for m in call.get("messages") or []
                    ],
                    "answer": call.get("answer"),
                    "tokens": [usage.get("input_tokens", 0), usage.get("output_tokens", 0)],
                    "latency_s": usage.get("latency_s"),
                    "cache_hit": bool(usage.get("cache_hit")),
                    "error": call.get("error"),
                }
            )
        steps_by_item.setdefault(str(step.get("item_key")), []).append(
            {
                "round": step.get("round"),
                "node": step.get("node"),
                "calls": calls,
                "parsed": step.get("parsed"),
                "parse_errors": step.get("parse_errors") or [],
                "notes": step.get("notes") or [],
            }
        )
    items = []
    for record in results:
        key = str(record.get("key"))
        entry = context.get(key) or {}
        usage = record.get("usage") or {}
        items.append(
            {
                "key": key,
                "label": record.get("label"),
                "error_type": record.get("error_type"),
                "source": record.get("source"),
                "modality": record.get("modality"),
                "status": record.get("status"),
                "error": record.get("error"),
                "scenario": final_scenario(record) or "",
                "rounds": [
                    {"round": j.get("round"), "scenario": j.get("scenario")}
                    for j in record.get("round_judgments") or []
                ],
                "n_rounds": record.get("n_rounds"),
                "tokens": usage.get("input_tokens", 0) + usage.get("output_tokens", 0),
                "question": entry.get("question"),
                "initial_solution": entry.get("initial_solution"),
                "reference_feedback": entry.get("reference_feedback"),
                "steps": steps_by_item.get(key, []),
            }
        )
    return items


def write_html_report(run: RunDir, out: Path) -> Path:
    """Write the self-contained report for one run directory; returns its path."""
    scores = run.scores()
    results = run.results()
    submission = run.submission()
    config_text = run.file(CONFIG).read_text(encoding="utf-8")
    proxy = (
        '<p class="warn">PROXY scores: judged by the offline judge, not the official '
        "GPT-4o judge.</p>"
        if scores.get("is_proxy")
        else ""
    )
    body = [
        f"<h1>MMRefine report: {html.escape(run.path.name)}</h1>",
        proxy,
        f'<p class="meta">judge {html.escape(str(scores.get("judge")))} - items '
        f"{scores.get('n_items')}, judged {scores.get('n_judged')}, judge errors "
        f"{scores.get('judge_errors')}, failed items {scores.get('n_failed_items')}, images not "
        f"seen {scores.get('not_seen_images', 0)}</p>",
        "<h2>Scores</h2>",
        scores_section(scores),
        "<h2>Breakdowns</h2>",
        *(breakdown_section(scores, by) for by in ("error_type", "solution_source", "modality")),
        breakdown_section(scores, "round") if (scores.get("by") or {}).get("round") else "",
        rounds_section(round_analysis(results, scores)),
        localisation_section(localisation(results, reference_steps(submission))),
        "<h2>Plots</h2>",
        plots_section(scores),
        "<h2>Items</h2>",
        '<div class="controls"><input id="filter" placeholder="filter: key, type, scenario">'
        ' <span id="count"></span></div>',
        '<table id="items"><thead><tr><th>item</th><th>label</th><th>error type</th>'
        "<th>modality</th><th>scenario</th><th>per round</th><th>tokens</th></tr></thead>"
        "<tbody></tbody></table>",
        '<section id="trace" hidden></section>',
        f"<details><summary>config.yaml</summary><pre>{html.escape(config_text)}</pre></details>",
    ]
    data = json.dumps(
        {"items": item_payload(run, results, submission), "names": OFFICIAL_NAMES},
        ensure_ascii=False,
    )
    data = data.replace("</", "<\\/")  # a model answer cannot close the script element
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    script = (ASSETS / "report.js").read_text(encoding="utf-8")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>MMRefine report: {html.escape(run.path.name)}</title>"
        f"<style>{css}</style></head><body>{''.join(body)}"
        f'<script type="application/json" id="data">{data}</script>'
        f"<script>{script}</script></body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
