"""Rich renderings of scores, usage, parse health and data counts."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mmrefine_agent import MMRefineError, Scores
from mmrefine_agent.analysis.legend import legend_lines
from mmrefine_agent.cli.safe_text import cell, inline, safe
from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES
from mmrefine_agent.records.models import NodeUsage, ParseHealth, ScoreBlock, UsageBlock

RATE_COLUMNS = ("RS", "EC", "ED", "RF", "VS", "FD", "RefScore", "mRecall", "RS/ED")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _ci(block: ScoreBlock, metric: str) -> str:
    interval = block.ci95.get(metric)
    return "" if not interval else f"[{_fmt(interval[0])}, {_fmt(interval[1])}]"


def scores_table(
    scores: Scores, title: str | None = None, *, legend: bool = True, model: str | None = None
) -> Group:
    """Overall rates with 95% intervals, counts, and a legend saying what each means.

    The legend explains only what this table shows (the judge that scored it, the ``model``
    that made the run, images not seen only when some were not).
    """
    proxy = " (PROXY: offline judge)" if scores.is_proxy else ""
    proxy += " (EXTENSION)" if scores.extension else ""
    table = Table(title=title or f"MMRefine scores - judge {inline(scores.judge)}{proxy}")
    table.add_column("metric")
    table.add_column("value (%)", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("count", justify="right")
    overall = scores.overall or ScoreBlock()
    for code in ("RS", "EC", "ED", "RF", "VS", "FD"):
        table.add_row(
            f"{code}  {OFFICIAL_NAMES[code]}",
            _fmt(overall.rates.get(code)),
            _ci(overall, code),
            str(overall.counts.get(code, 0)),
        )
    table.add_row(
        "[bold]RefScore[/] (RS - FD)",
        _fmt(overall.rates.get("RefScore")),
        _ci(overall, "RefScore"),
        "",
    )
    table.add_row(
        "[bold]mRecall[/] ((ED + VS) / 2)",
        _fmt(overall.rates.get("mRecall")),
        _ci(overall, "mRecall"),
        "",
    )
    table.add_row("RS/ED", _fmt(overall.rates.get("RS/ED")), "", "")
    table.add_row("EC/ED", _fmt(overall.rates.get("EC/ED")), "", "")
    caption = (
        f"items {scores.n_items}, judged {scores.n_judged} (denominators: n_incorrect "
        f"{overall.counts.get('n_incorrect', 0)}, n_correct {overall.counts.get('n_correct', 0)}), "
        f"judge errors {scores.judge_errors}, failed items {scores.n_failed_items}"
    )
    if scores.not_seen_images:
        caption += f", images not seen {scores.not_seen_images}"
    if not scores.completeness.complete:
        caption += " - INCOMPLETE"
    if scores.extension:
        caption += f"\nEXTENSION: {safe(scores.extension)}"
    if not legend:
        table.caption = caption
        return Group(table)
    lines = Text("\n".join(f"- {line}" for line in legend_lines(scores, model)), style="dim")
    return Group(table, Text(caption), Text("what the numbers mean:", style="bold"), lines)


def model_of(run_dir: Path) -> str | None:
    """The refinement model a run directory was made with (None: not recorded)."""
    from mmrefine_agent.records.rundir import RunDir

    try:
        fingerprint = RunDir(Path(run_dir)).fingerprint()
    except (OSError, ValueError, MMRefineError):
        return None
    model = (fingerprint.config.get("model") if fingerprint is not None else None) or {}
    name = model.get("name") if isinstance(model, dict) else None
    return name if isinstance(name, str) else None


def breakdown_table(scores: Scores, by: str) -> Table:
    """One row per group of a breakdown (error type, source, modality, round)."""
    groups = scores.by.get(by) or {}
    table = Table(title=f"by {by}")
    table.add_column(by)
    table.add_column("n", justify="right")
    for column in RATE_COLUMNS:
        table.add_column(column, justify="right")
    table.add_column("judge err", justify="right")
    for name, block in groups.items():
        table.add_row(
            cell(name),
            str(block.n),
            *(_fmt(block.rates.get(c)) for c in RATE_COLUMNS),
            str(block.counts.get("judge_error", 0)),
        )
    return table


def usage_table(usage: dict[str, UsageBlock], title: str = "usage") -> Table:
    """Calls, cache hits, tokens and cost for refinement and judging."""
    table = Table(title=title)
    for column in ("", "calls", "cache hits", "retries", "failures", "in tokens", "out tokens",
                   "cost $"):  # fmt: skip
        table.add_column(column, justify="right" if column else "left")
    for name in ("refine", "judge"):
        u = usage.get(name) or UsageBlock()
        calls, hits, *rest = usage_cells(u)
        table.add_row(name, calls, hits, str(u.retries), str(u.failures), *rest)
    return table


def usage_cells(block: UsageBlock) -> list[str]:
    """calls, cache hits, input tokens, output tokens and cost of a usage block, as text."""
    return [
        str(block.calls),
        str(block.cache_hits),
        str(block.input_tokens),
        str(block.output_tokens),
        f"{block.cost_usd:.4f}",
    ]


def print_counts(console: Console, title: str, counts: dict[str, dict[str, int]]) -> None:
    """One table per counted attribute."""
    for attribute, values in counts.items():
        table = Table(title=f"{title}: by {attribute}")
        table.add_column(attribute)
        table.add_column("items", justify="right")
        for name, count in values.items():
            table.add_row(name, str(count))
        console.print(table)


def node_usage_table(per_node: dict[str, NodeUsage]) -> Table:
    """Refinement calls, cache hits, tokens and cost per graph node."""
    table = Table(title="refinement usage per node")
    for column in ("node", "steps", "calls", "cache hits", "in tokens", "out tokens", "cost $"):
        table.add_column(column, justify="left" if column == "node" else "right")
    for node, block in per_node.items():
        table.add_row(cell(node), str(block.steps), *usage_cells(block))
    return table


def parse_health_table(health: dict[str, ParseHealth]) -> Table:
    """Per node: the share of answers that did not parse, and the commonest reasons."""
    table = Table(title="parse health per node (answers that did not parse)")
    for column in ("node", "steps", "with problems", "share %", "commonest reasons"):
        table.add_column(
            column, justify="left" if column in ("node", "commonest reasons") else "right"
        )
    for node, block in health.items():
        reasons = "; ".join(f"{r} ({n})" for r, n in list(block.reasons.items())[:3])
        table.add_row(
            cell(node), str(block.steps), str(block.with_problems), _fmt(block.share), cell(reasons)
        )
    return table


GOLD_NOTE = (
    "[yellow]uses gold:[/] the strategy read the gold answer or label while refining; these "
    "scores are not comparable with the paper protocol (compare and sweep summaries put the "
    "run apart unless --include-gold)"
)
