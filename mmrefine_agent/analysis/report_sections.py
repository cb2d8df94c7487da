"""The static sections of a run's HTML report: scores, legend, charts, rounds, step metrics.

Each function returns HTML text; every value that comes from a run is escaped here.
"""

from __future__ import annotations

import html
from typing import Any

from mmrefine_agent.analysis.legend import LEGEND
from mmrefine_agent.analysis.localisation import OUTCOME_LABELS, OUTCOMES
from mmrefine_agent.analysis.report_charts import heat_map, legend_html, stacked_bars
from mmrefine_agent.analysis.report_page import pct, table
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES, SCENARIOS
from mmrefine_agent.records.models import ScoreBlock, Scores
from mmrefine_agent.records.step_scores import RoundCorrection, StepScoreBlock, StepScores

SCORE_CODES = ("RS", "EC", "ED", "RF", "VS", "FD", "RefScore", "mRecall", "RS/ED")
BREAKDOWN_COLUMNS = ("RS", "EC", "ED", "RF", "VS", "FD", "RefScore", "mRecall")
BREAKDOWN_TITLES = {
    "error_type": "by error type",
    "solution_source": "by solution source",
    "modality": "by modality",
    "round": "by round (scenario after each round)",
}
STEP_LABELS = {
    "detection_accuracy": "detection: accuracy (verdict vs label)",
    "precision": "detection: precision of 'Incorrect'",
    "recall": "detection: recall of 'Incorrect'",
    "f1": "detection: F1 of 'Incorrect'",
    "erroneous_accuracy": "localisation: erroneous, first wrong step found",
    "correct_accuracy": "localisation: correct, said no error",
    "localisation_f1": "localisation: harmonic mean (ProcessBench F1)",
    "answer_accuracy": "correction: final answer = gold",
    "answer_accuracy_incorrect": "correction: ... on incorrect solutions",
    "answer_accuracy_correct": "correction: ... on correct solutions",
}
ROUND_LABELS = {
    "accuracy_t1": "accuracy after round 1",
    "accuracy_last": "accuracy after the last round",
    "delta": "delta (last - round 1)",
    "incorrect_to_correct": "incorrect -> correct",
    "correct_to_incorrect": "correct -> incorrect",
}
_E = html.escape


def _interval(interval: list[float] | None) -> str:
    return "" if not interval else f"[{pct(interval[0])}, {pct(interval[1])}]"


def scores_section(scores: Scores) -> str:
    """The overall rates with 95% intervals and counts, and the legend of the scores."""
    overall = scores.overall or ScoreBlock()
    rows = []
    for code in SCORE_CODES:
        name = f"{code} {OFFICIAL_NAMES[code]}" if code in OFFICIAL_NAMES else code
        rows.append(
            [
                _E(name),
                f'<span class="metric" data-metric="{_E(code)}">'
                f"{pct(overall.rates.get(code))}</span>",
                _interval(overall.ci95.get(code)),
                str(overall.counts.get(code, "")),
            ]
        )
    return table(["metric", "value (%)", "95% CI", "count"], rows, "scores") + (
        f'<p class="legend" id="legend">{_E(LEGEND)}</p>'
    )


def scenario_counts(block: ScoreBlock) -> dict[str, int]:
    """The exclusive scenario counts of a block (what the stacked bars draw)."""
    return {code: block.counts.get(code, 0) for code in (*SCENARIOS, "judge_error")}


def charts_section(scores: Scores) -> str:
    """Scenario shares as stacked bars per error type, source, modality and round."""
    charts = []
    for by, title in BREAKDOWN_TITLES.items():
        groups = scores.by.get(by) or {}
        if groups:
            counts = {name: scenario_counts(block) for name, block in groups.items()}
            names = {k: f"round {k}" if by == "round" else k for k in counts}
            if by == "error_type" and "-" in names:
                names["-"] = "none (correct solutions)"
            charts.append(stacked_bars(title, {names[k]: v for k, v in counts.items()}))
    return legend_html() + '<div class="charts">' + "".join(charts) + "</div>"


def breakdown_section(scores: Scores, by: str) -> str:
    """One breakdown as a table (collapsed under the charts)."""
    groups = scores.by.get(by) or {}
    if not groups:
        return ""
    rows = [
        [_E(name), str(block.n)] + [pct(block.rates.get(c)) for c in BREAKDOWN_COLUMNS]
        for name, block in groups.items()
    ]
    return f"<h3>{_E(BREAKDOWN_TITLES[by])}</h3>" + table([by, "n", *BREAKDOWN_COLUMNS], rows)


def rounds_section(analysis: dict[str, Any]) -> str:
    """Transition heat maps and what later rounds changed (multi-round runs)."""
    if not analysis["transitions"]:
        return ""
    parts = ["<h2>Rounds</h2>", '<div class="charts">']
    for step, matrix in analysis["transitions"].items():
        parts.append(heat_map(f"transitions round {step}", matrix, SCENARIOS))
    parts.append("</div>")
    if analysis["notable"]:
        rows = [
            [_E(r["rounds"]), _E(r["from"]), _E(r["to"]), str(r["count"]), _E(r["meaning"])]
            for r in analysis["notable"]
        ]
        parts.append("<h3>what later rounds changed</h3>")
        parts.append(table(["rounds", "from", "to", "items", "meaning"], rows))
    settled = [[_E(str(k)), str(v)] for k, v in analysis["settled_at"].items()]
    parts.append("<h3>round at which items settled</h3>" + table(["round", "items"], settled))
    return "".join(parts)


def localisation_section(
    result: dict[str, Any], reference: str = "the step the reference feedback names"
) -> str:
    """Right step found vs something else flagged, per error type (``reference``: in words)."""
    if not result["overall"]["n"]:
        return ""
    rows = []
    for name, block in [*result["by_error_type"].items(), ("all", result["overall"])]:
        shares = block["share"]
        rows.append(
            [_E(name), str(block["n"])] + [f"{block[o]} ({pct(shares[o])}%)" for o in OUTCOMES]
        )
    headers = ["error type", "n", *(OUTCOME_LABELS[o] for o in OUTCOMES)]
    return (
        f"<h2>Localisation</h2><p>The step the model flagged first vs {_E(reference)}.</p>"
        + table(headers, rows)
    )


def _metric_rows(
    labels: dict[str, str], block: StepScoreBlock | RoundCorrection
) -> list[list[str]]:
    names = [n for n in labels if n in block.rates] + [n for n in block.rates if n not in labels]
    return [
        [_E(labels.get(n, n)), pct(block.rates.get(n)), _interval(block.ci95.get(n))] for n in names
    ]


def step_metrics_section(step: StepScores | None) -> str:
    """Detection, localisation and correction figures, overall and per category."""
    if step is None:
        return ""
    parts = [
        "<h2>Step metrics</h2>",
        f'<p class="meta">dataset {_E(str(step.dataset))}; n {step.overall.n}. {_E(step.note)}</p>',
        table(["metric", "value (%)", "95% CI"], _metric_rows(STEP_LABELS, step.overall), "step"),
    ]
    if step.by_category:
        names = list(STEP_LABELS)[:7]
        rows = [
            [_E(cat), str(block.n)] + [pct(block.rates.get(n)) for n in names]
            for cat, block in step.by_category.items()
        ]
        parts.append("<h3>by category</h3>" + table(["category", "n", *names], rows))
    return "".join(parts)


def round_correction_section(block: RoundCorrection | None) -> str:
    """Answer accuracy after round 1 and after the last round (multi-round runs)."""
    if block is None:
        return ""
    accuracy = [[_E(str(k)), pct(v)] for k, v in block.accuracy_by_round.items()]
    return (
        f'<h2>Correction across rounds</h2><p class="meta">n {block.n}, rounds '
        f"{block.rounds}. {_E(block.note)}</p>"
        + table(["metric", "value (%)", "95% CI"], _metric_rows(ROUND_LABELS, block), "rc")
        + table(["round", "answer accuracy (%)"], accuracy)
    )
