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

from mmrefine_agent.analysis.legend import LEGEND
from mmrefine_agent.analysis.localisation import (
    OUTCOME_LABELS,
    OUTCOMES,
    localisation,
    reference_steps,
)
from mmrefine_agent.analysis.metrics import final_scenario
from mmrefine_agent.analysis.rounds import round_analysis
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES, SCENARIOS
from mmrefine_agent.records.models import CallRecord, ScoreBlock, Scores
from mmrefine_agent.records.rundir import CONFIG, RunDir
from mmrefine_agent.run_view import RunView, open_run

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


def scores_section(scores: Scores) -> str:
    """The overall rates with 95% intervals and counts."""
    overall = scores.overall or ScoreBlock()
    rows = []
    for code in (*("RS", "EC", "ED", "RF", "VS", "FD"), "RefScore", "mRecall", "RS/ED"):
        interval = overall.ci95.get(code)
        name = f"{code} {OFFICIAL_NAMES[code]}" if code in OFFICIAL_NAMES else code
        rows.append(
            [
                html.escape(name),
                f'<span class="metric" data-metric="{html.escape(code)}">'
                f"{_pct(overall.rates.get(code))}</span>",
                "" if not interval else f"[{_pct(interval[0])}, {_pct(interval[1])}]",
                str(overall.counts.get(code, "")),
            ]
        )
    return _table(["metric", "value (%)", "95% CI", "count"], rows, "scores")


def breakdown_section(scores: Scores, by: str) -> str:
    """One breakdown (error type, solution source, modality or round) as a table."""
    groups = scores.by.get(by) or {}
    columns = ["RS", "EC", "ED", "RF", "VS", "FD", "RefScore", "mRecall"]
    rows = [
        [html.escape(name), str(block.n)] + [_pct(block.rates.get(c)) for c in columns]
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


def plots_section(scores: Scores) -> str:
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


def _call_payload(call: CallRecord) -> dict[str, Any]:
    return {
        "messages": [
            {"role": m.role, "text": summarise(m.text), "images": len(m.images)}
            for m in call.messages
        ],
        "answer": call.answer,
        "tokens": [call.usage.input_tokens, call.usage.output_tokens],
        "latency_s": call.usage.latency_s,
        "cache_hit": call.usage.cache_hit,
        "error": call.error,
    }


def item_payload(view: RunView) -> list[dict[str, Any]]:
    """Per item: result fields, the question context, judged rounds, judge calls and steps."""
    steps_by_item: dict[str, list[dict[str, Any]]] = {}
    for step in view.steps:
        steps_by_item.setdefault(step.item_key, []).append(
            {
                "round": step.round,
                "node": step.node,
                "calls": [_call_payload(c) for c in step.calls],
                "parsed": step.parsed,
                "parse_errors": step.parse_errors,
                "notes": step.notes,
                "error": step.error.message if step.error else None,
            }
        )
    calls_by_item: dict[str, list[dict[str, Any]]] = {}
    for call in view.judgments:
        calls_by_item.setdefault(call.item_key, []).append(
            {
                "round": call.round,
                "call": call.call,
                "attempt": call.attempt,
                "prompt": summarise(call.prompt),
                "reply": call.reply,
                "parsed": call.parsed,
                "error": call.error,
            }
        )
    items = []
    facts = view.items
    for record in view.results:
        item = facts.get(record.key)
        responses = {r.round: r.response for r in record.rounds}
        items.append(
            {
                "key": record.key,
                "label": record.label,
                "error_type": record.error_type,
                "source": record.source,
                "modality": record.modality,
                "status": record.status,
                "error": record.error,
                "scenario": final_scenario(record) or "",
                "rounds": [
                    {
                        "round": j.round,
                        "scenario": j.scenario,
                        "rule": j.rule,
                        "error": j.error,
                        "response": responses.get(j.round, ""),
                    }
                    for j in record.round_judgments
                ],
                "judge_calls": calls_by_item.get(record.key, []),
                "n_rounds": record.n_rounds,
                "tokens": record.usage.tokens,
                "question": item.question if item else None,
                "initial_solution": item.initial_solution if item else None,
                "reference_feedback": item.reference_feedback if item else None,
                "steps": steps_by_item.get(record.key, []),
            }
        )
    return items


_UNSAFE_IN_SCRIPT = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def embed_json(data: str) -> str:
    """JSON safe inside a <script> element: no model text can end or comment it out."""
    return data.translate(_UNSAFE_IN_SCRIPT)


def write_html_report(run: RunDir, out: Path) -> Path:
    """Write the self-contained report for one run directory; returns its path."""
    view = open_run(run.path)
    scores = run.scores()
    results = view.results
    config_text = run.file(CONFIG).read_text(encoding="utf-8")
    proxy = (
        '<p class="warn">PROXY scores: judged by the offline judge, not the official '
        "GPT-4o judge.</p>"
        if scores.is_proxy
        else ""
    )
    body = [
        f"<h1>MMRefine report: {html.escape(run.path.name)}</h1>",
        proxy,
        f'<p class="meta">judge {html.escape(str(scores.judge))} - items '
        f"{scores.n_items}, judged {scores.n_judged}, judge errors "
        f"{scores.judge_errors}, failed items {scores.n_failed_items}, images not "
        f"seen {scores.not_seen_images}</p>",
        "<h2>Scores</h2>",
        scores_section(scores),
        f'<p class="legend">{html.escape(LEGEND)}</p>',
        "<h2>Breakdowns</h2>",
        *(breakdown_section(scores, by) for by in ("error_type", "solution_source", "modality")),
        breakdown_section(scores, "round") if scores.by.get("round") else "",
        rounds_section(round_analysis(results, scores)),
        localisation_section(localisation(results, reference_steps(view.items))),
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
    data = json.dumps({"items": item_payload(view), "names": OFFICIAL_NAMES}, ensure_ascii=False)
    data = embed_json(data)
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
