"""Rich renderings of the step metrics (detection, localisation, correction) and rounds."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from mmrefine_agent.cli.safe_text import inline, safe
from mmrefine_agent.records.step_scores import RoundCorrection, StepScoreBlock, StepScores

STEP_ROWS = (
    ("detection", "detection_accuracy", "accuracy (verdict vs label)"),
    ("", "precision", "precision of 'Incorrect'"),
    ("", "recall", "recall of 'Incorrect'"),
    ("", "f1", "F1 of 'Incorrect'"),
    ("localisation", "erroneous_accuracy", "erroneous: first wrong step found"),
    ("", "correct_accuracy", "correct: said no error"),
    ("", "localisation_f1", "harmonic mean (ProcessBench F1)"),
    ("correction", "answer_accuracy", "final answer = gold"),
    ("", "answer_accuracy_incorrect", "... on incorrect solutions"),
    ("", "answer_accuracy_correct", "... on correct solutions"),
)
CATEGORY_COLUMNS = (
    ("detection_accuracy", "detect acc"),
    ("f1", "detect F1"),
    ("erroneous_accuracy", "loc err"),
    ("correct_accuracy", "loc cor"),
    ("localisation_f1", "loc F1"),
    ("answer_accuracy", "answer acc"),
)
ROUND_ROWS = (
    ("accuracy_t1", "accuracy after round 1"),
    ("accuracy_last", "accuracy after the last round"),
    ("delta", "delta (last - round 1)"),
    ("incorrect_to_correct", "incorrect -> correct"),
    ("correct_to_incorrect", "correct -> incorrect"),
)


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"


def _ci(block: StepScoreBlock | RoundCorrection, name: str, signed: bool = False) -> str:
    interval = block.ci95.get(name)
    return "" if not interval else f"[{_pct(interval[0], signed)}, {_pct(interval[1], signed)}]"


def _count(block: StepScoreBlock, name: str) -> str:
    c = block.counts
    pairs = {
        "detection_accuracy": (c.get("tp", 0) + c.get("tn", 0), block.n),
        "precision": (c.get("tp", 0), c.get("tp", 0) + c.get("fp", 0)),
        "recall": (c.get("tp", 0), c.get("n_incorrect", 0)),
        "erroneous_accuracy": (c.get("loc_hits_erroneous", 0), c.get("loc_n_erroneous", 0)),
        "correct_accuracy": (c.get("loc_hits_correct", 0), c.get("loc_n_correct", 0)),
        "answer_accuracy": (c.get("answers_right", 0), c.get("n_gold", 0)),
        "answer_accuracy_incorrect": (
            c.get("answers_right_incorrect", 0),
            c.get("n_gold_incorrect", 0),
        ),
        "answer_accuracy_correct": (c.get("answers_right_correct", 0), c.get("n_gold_correct", 0)),
    }
    pair = pairs.get(name)
    return f"{pair[0]}/{pair[1]}" if pair else ""


def step_metrics_table(step: StepScores) -> Table:
    """Overall detection, localisation and correction, with 95% intervals and counts."""
    dataset = step.dataset if isinstance(step.dataset, str) else ", ".join(step.dataset)
    title = f"step metrics - dataset {safe(dataset) or '?'} ({step.overall.n} items)"
    table = Table(title=Text(title))
    for column in ("task", "metric", "value (%)", "95% CI", "count"):
        table.add_column(column, justify="right" if column in ("value (%)", "count") else "left")
    block = step.overall
    for task, name, label in STEP_ROWS:
        table.add_row(
            task, label, _pct(block.rates.get(name)), _ci(block, name), _count(block, name)
        )
    c = block.counts
    table.caption = (
        f"incorrect said correct {c.get('incorrect/said_correct', 0)}, correct said incorrect "
        f"{c.get('correct/said_incorrect', 0)}, no verdict {c.get('no_verdict', 0)}; incorrect "
        f"items without a reference step {c.get('no_reference_step', 0)}\n{safe(step.note)}"
    )
    return table


def category_table(step: StepScores) -> Table:
    """One row per category (error class, task, subject) and the overall row."""
    table = Table(title="step metrics by category (%)")
    table.add_column("category")
    table.add_column("n", justify="right")
    for _name, header in CATEGORY_COLUMNS:
        table.add_column(header, justify="right")
    rows = [(Text(safe(name)), b) for name, b in step.by_category.items()]
    for name, block in [*rows, (Text("all", style="bold"), step.overall)]:
        table.add_row(name, str(block.n), *(_pct(block.rates.get(c)) for c, _ in CATEGORY_COLUMNS))
    if not step.by_category:
        table.caption = "this dataset has no categories"
    return table


def round_correction_table(rounds: RoundCorrection) -> Table:
    """Answer accuracy after round 1 and the last round, and the changes (SCoRe style)."""
    table = Table(title=f"answers across rounds ({rounds.n} items with a gold answer)")
    for column in ("metric", "value (%)", "95% CI"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, label in ROUND_ROWS:
        signed = name == "delta"
        table.add_row(label, _pct(rounds.rates.get(name), signed), _ci(rounds, name, signed))
    per_round = ", ".join(f"{n}: {_pct(v)}" for n, v in rounds.accuracy_by_round.items())
    table.caption = f"accuracy after each round: {per_round or '-'}\n{rounds.note}"
    return table


def _interval(interval: list[float] | None, signed: bool = False) -> str:
    return "" if not interval else f"[{_pct(interval[0], signed)}, {_pct(interval[1], signed)}]"


def paired_round_table(entry: dict[str, Any], a: str, b: str) -> Table:
    """Answers across rounds in runs A and B on shared items, and B - A (paired intervals)."""
    rounds = entry["rounds"]
    table = Table(
        title=f"answers across rounds, {inline(b)} - {inline(a)} on {entry['n_shared']} shared "
        "items with a "
        f"gold answer (A: {rounds['a']} round(s), B: {rounds['b']})"
    )
    for column in ("metric", "A %", "A 95% CI", "B %", "B 95% CI", "B - A", "95% CI", ""):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, label in ROUND_ROWS:
        m = entry["metrics"][name]
        signed = name == "delta"
        ci = m["ci95"]
        marker = ""
        if ci is not None and (ci[0] > 0 or ci[1] < 0):
            marker = "[green]*[/]" if ci[0] > 0 else "[red]*[/]"
        table.add_row(
            label,
            _pct(m["a"], signed),
            _interval(m["a_ci95"], signed),
            _pct(m["b"], signed),
            _interval(m["b_ci95"], signed),
            _pct(m["diff"], True),
            _interval(ci, True),
            marker,
        )
    table.caption = "SCoRe-style; bootstrap over problems, both runs resampled together; " + (
        "* the interval excludes 0"
    )
    return table


def paired_step_table(entry: dict[str, Any], a: str, b: str) -> Table:
    """Detection, localisation and correction in runs A and B, and B - A (paired intervals)."""
    table = Table(
        title=f"detection, localisation, correction: {inline(b)} - {inline(a)} on "
        f"{entry['n_shared']} shared items"
    )
    for column in ("task", "metric", "A %", "B %", "B - A", "95% CI", ""):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for task, name, label in STEP_ROWS:
        m = entry["metrics"][name]
        ci = m["ci95"]
        marker = ""
        if ci is not None and (ci[0] > 0 or ci[1] < 0):
            marker = "[green]*[/]" if ci[0] > 0 else "[red]*[/]"
        table.add_row(
            task, label, _pct(m["a"]), _pct(m["b"]), _pct(m["diff"], True),
            _interval(ci, True), marker,
        )  # fmt: skip
    reference = entry.get("reference") or "the reference step"
    table.caption = (
        f"localisation: the flagged step vs {reference}; bootstrap over problems, both runs "
        "resampled together; * the interval excludes 0"
    )
    return table
